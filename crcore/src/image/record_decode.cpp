#include "image/record_decode.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "image/kind_names.h"

namespace crcore::image {
namespace {

constexpr uint64_t kPage = 4096;

[[noreturn]] void invalid(const std::string& message) { throw RecordInvalid(message); }

bool page_aligned(uint64_t value) { return value % kPage == 0; }

// The fixed struct at the start of a payload; exact: the payload is exactly the struct.
template <typename T>
T fixed(Payload payload, bool exact, std::string_view what) {
  if (exact ? payload.size() != sizeof(T) : payload.size() < sizeof(T)) {
    invalid(fmt::format("{} payload is {} bytes, expected {}{}", what, payload.size(), exact ? "" : "at least ",
                        sizeof(T)));
  }
  T value;
  std::memcpy(&value, payload.data(), sizeof value);
  return value;
}

std::string text(Payload payload, uint64_t& at, uint32_t length) {
  std::string value(reinterpret_cast<const char*>(payload.data() + at), length);
  at += length;
  return value;
}

// NUL-separated strings; a final NUL terminates the last one (as in /proc/PID/cmdline).
std::vector<std::string> split_nul(const std::string& joined) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < joined.size()) {
    size_t nul = joined.find('\0', start);
    if (nul == std::string::npos) {
      nul = joined.size();
    }
    parts.push_back(joined.substr(start, nul - start));
    start = nul + 1;
  }
  return parts;
}

bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end) {
  return a_start < b_end && b_start < a_end;
}

std::string range(uint64_t start, uint64_t end) { return fmt::format("{:x}-{:x}", start, end); }

bool region_has_pages(uint32_t kind) { return static_cast<RegionKind>(kind) != RegionKind::FileShared; }

// The region that contains address, or nullptr.
const RegionEntry* region_containing(const Image& image, uint64_t address) {
  auto after = std::upper_bound(image.regions.begin(), image.regions.end(), address,
                                [](uint64_t a, const RegionEntry& r) { return a < r.record.start; });
  if (after == image.regions.begin()) {
    return nullptr;
  }
  const RegionEntry& region = *(after - 1);
  return address < region.record.end ? &region : nullptr;
}

}  // namespace

void decode_process(Payload payload, Image& image) {
  ProcessRecord p = fixed<ProcessRecord>(payload, false, "Process");
  uint64_t strings = uint64_t{p.cwd_len} + p.exe_len + p.cmdline_len + p.environ_len + p.hostname_len + p.kernel_len;
  if (sizeof p + strings != payload.size()) {
    invalid(fmt::format("string lengths add up to {} bytes but the payload has {} after the ProcessRecord", strings,
                        payload.size() - sizeof p));
  }
  if (p.thread_count == 0 || p.thread_count > kMaxThreads) {
    invalid(fmt::format("thread_count {} is outside 1..{}", p.thread_count, kMaxThreads));
  }
  if (p.region_count > kMaxRegions) {
    invalid(fmt::format("region_count {} is above the limit {}", p.region_count, kMaxRegions));
  }
  if (p.fd_count > kMaxFdNumber) {
    invalid(fmt::format("fd_count {} is above the limit {}", p.fd_count, kMaxFdNumber));
  }
  if (p.reserved0 != 0) {
    invalid("reserved0 is not zero");
  }
  image.process = p;
  uint64_t at = sizeof p;
  image.cwd = text(payload, at, p.cwd_len);
  image.exe = text(payload, at, p.exe_len);
  image.cmdline = split_nul(text(payload, at, p.cmdline_len));
  image.environment = split_nul(text(payload, at, p.environ_len));
  image.hostname = text(payload, at, p.hostname_len);
  image.kernel = text(payload, at, p.kernel_len);
}

void decode_mm(Payload payload, Image& image) {
  MmRecord mm = fixed<MmRecord>(payload, true, "Mm");
  if (mm.auxv_count > kMaxAuxv) {
    invalid(fmt::format("auxv_count {} is above {}", mm.auxv_count, kMaxAuxv));
  }
  if (mm.special_count > kMaxSpecialMaps) {
    invalid(fmt::format("special_count {} is above {}", mm.special_count, kMaxSpecialMaps));
  }
  for (uint32_t i = 0; i < mm.special_count; ++i) {
    const SpecialMap& map = mm.special[i];
    auto kind = static_cast<SpecialMapKind>(map.kind);
    if (kind != SpecialMapKind::Vvar && kind != SpecialMapKind::VvarVclock && kind != SpecialMapKind::Vdso) {
      invalid(fmt::format("special map {} has unknown kind {}", i, map.kind));
    }
    if (!page_aligned(map.start) || !page_aligned(map.end) || map.start >= map.end || map.end > kUserAddressLimit) {
      invalid(
          fmt::format("special map {} ({}) has a bad range {}", i, special_map_name(kind), range(map.start, map.end)));
    }
  }
  image.mm = mm;
}

void decode_sigactions(Payload payload, Image& image) {
  image.sigactions = fixed<SigActionsRecord>(payload, true, "SigActions");
}

void decode_rlimits(Payload payload, Image& image) { image.rlimits = fixed<RlimitsRecord>(payload, true, "Rlimits"); }

void decode_thread(Payload payload, Image& image) {
  ThreadRecord t = fixed<ThreadRecord>(payload, true, "Thread");
  if (t.tid <= 0) {
    invalid(fmt::format("tid {} is not a thread id", t.tid));
  }
  if ((t.flags & ~uint32_t{kThreadMain | kThreadRuntime}) != 0) {
    invalid(fmt::format("unknown thread flags {:#x}", t.flags));
  }
  image.threads.push_back(t);
}

void decode_region(Payload payload, Image& image) {
  RegionRecord r = fixed<RegionRecord>(payload, false, "Region");
  if (sizeof r + uint64_t{r.path_len} != payload.size()) {
    invalid(fmt::format("path_len {} does not match the payload ({} bytes after the RegionRecord)", r.path_len,
                        payload.size() - sizeof r));
  }
  auto kind = static_cast<RegionKind>(r.kind);
  if (!known(kind)) {
    invalid(fmt::format("region {} has unknown kind {}", range(r.start, r.end), r.kind));
  }
  if ((r.prot & ~uint32_t{kProtRead | kProtWrite | kProtExec}) != 0 ||
      (r.flags & ~(kRegionInherits | kRegionAdvice)) != 0) {
    invalid(
        fmt::format("region {} has unknown prot bits {:#x} or flags {:#x}", range(r.start, r.end), r.prot, r.flags));
  }
  if ((r.flags & kRegionHugePage) != 0 && (r.flags & kRegionNoHugePage) != 0) {
    invalid(fmt::format("region {} is advised both huge pages and no huge pages", range(r.start, r.end)));
  }
  if ((r.flags & kRegionWipeOnFork) != 0 && kind != RegionKind::AnonPrivate && kind != RegionKind::Heap &&
      kind != RegionKind::Stack) {
    invalid(fmt::format("region {} is {} and cannot be wiped on fork", range(r.start, r.end), region_kind_name(kind)));
  }
  if ((r.flags & kRegionInherits) != 0) {
    if ((image.header.flags & kFileIncremental) == 0) {
      invalid(fmt::format("region {} inherits pages in an image that is not incremental", range(r.start, r.end)));
    }
    if (kind != RegionKind::AnonPrivate && kind != RegionKind::Heap && kind != RegionKind::Stack) {
      invalid(fmt::format("region {} is {} and may not inherit pages", range(r.start, r.end), region_kind_name(kind)));
    }
  }
  if (!page_aligned(r.start) || !page_aligned(r.end)) {
    invalid(fmt::format("region {} is not page-aligned", range(r.start, r.end)));
  }
  if (r.start >= r.end) {
    invalid(fmt::format("region {} is empty or inverted", range(r.start, r.end)));
  }
  if (r.end > kUserAddressLimit) {
    invalid(fmt::format("region {} is above the user address limit {:x}", range(r.start, r.end), kUserAddressLimit));
  }
  if (!image.regions.empty()) {
    const RegionRecord& prev = image.regions.back().record;
    if (r.start < prev.end) {
      invalid(fmt::format("region {} {} the previous region {}", range(r.start, r.end),
                          r.start < prev.start ? "is not sorted after" : "overlaps", range(prev.start, prev.end)));
    }
  }
  for (uint32_t i = 0; i < image.mm.special_count; ++i) {
    const SpecialMap& map = image.mm.special[i];
    if (overlaps(r.start, r.end, map.start, map.end)) {
      invalid(fmt::format("region {} overlaps the recorded {} at {}", range(r.start, r.end),
                          special_map_name(static_cast<SpecialMapKind>(map.kind)), range(map.start, map.end)));
    }
  }
  uint64_t pages = (r.end - r.start) / kPage;
  if (r.pages_saved > pages) {
    invalid(fmt::format("region {} claims {} saved pages but has {}", range(r.start, r.end), r.pages_saved, pages));
  }
  if (!region_has_pages(r.kind) && r.pages_saved != 0) {
    invalid(fmt::format("region {} is {} but claims {} saved pages", range(r.start, r.end), region_kind_name(kind),
                        r.pages_saved));
  }
  std::string path(reinterpret_cast<const char*>(payload.data() + sizeof r), r.path_len);
  if ((kind == RegionKind::FilePrivate || kind == RegionKind::FileShared) && path.empty()) {
    invalid(fmt::format("region {} is {} but has no path", range(r.start, r.end), region_kind_name(kind)));
  }
  image.regions.push_back({r, std::move(path)});
}

void decode_fd(Payload payload, Image& image) {
  FdRecord f = fixed<FdRecord>(payload, false, "Fd");
  if (sizeof f + uint64_t{f.path_len} != payload.size()) {
    invalid(fmt::format("path_len {} does not match the payload ({} bytes after the FdRecord)", f.path_len,
                        payload.size() - sizeof f));
  }
  if (f.fd < 0 || static_cast<uint32_t>(f.fd) >= kMaxFdNumber) {
    invalid(fmt::format("fd {} is outside 0..{}", f.fd, kMaxFdNumber - 1));
  }
  auto kind = static_cast<FdKind>(f.kind);
  if (!known(kind)) {
    invalid(fmt::format("fd {} has unknown kind {}", f.fd, f.kind));
  }
  if (kind == FdKind::UnixPair) {
    if (!known(static_cast<SocketType>(f.socket_type))) {
      invalid(fmt::format("fd {} (unix-pair) has unknown socket type {}", f.fd, f.socket_type));
    }
    if ((f.shutdown & ~uint32_t{kShutdownRead | kShutdownWrite}) != 0) {
      invalid(fmt::format("fd {} (unix-pair) has unknown shutdown bits {:#x}", f.fd, f.shutdown));
    }
    if (f.peer_inode == 0 || f.peer_inode == f.inode) {
      invalid(fmt::format("fd {} (unix-pair, inode {}) has no peer (peer_inode {})", f.fd, f.inode, f.peer_inode));
    }
  } else if (f.peer_inode != 0 || f.socket_type != 0 || f.shutdown != 0 || f.send_buffer != 0 ||
             f.receive_buffer != 0) {
    invalid(fmt::format("fd {} ({}) has socket fields set but is not a unix-pair", f.fd, fd_kind_name(kind)));
  }
  for (const FdEntry& other : image.fds) {
    const FdRecord& o = other.record;
    if (o.fd == f.fd) {
      invalid(fmt::format("fd {} appears twice", f.fd));
    }
    // Descriptors of one socket (dup(2)) describe it alike.
    bool socket = kind == FdKind::UnixPair || static_cast<FdKind>(o.kind) == FdKind::UnixPair;
    if (socket && o.inode == f.inode &&
        (o.kind != f.kind || o.peer_inode != f.peer_inode || o.socket_type != f.socket_type ||
         o.shutdown != f.shutdown)) {
      invalid(fmt::format("fd {} and fd {} share inode {} but describe it differently", o.fd, f.fd, f.inode));
    }
  }
  image.fds.push_back({f, std::string(reinterpret_cast<const char*>(payload.data() + sizeof f), f.path_len)});
}

// Version-4 resources: a SysvSem or SysvMsg fills its payload exactly; a RegionMemPolicy is a range.
void check_resource_contents(ResourceType type, Payload bytes) {
  if (type == ResourceType::SysvSem) {
    SysvSemResource s = fixed<SysvSemResource>(bytes, false, "SysvSem resource");
    if (s.nsems == 0 || bytes.size() != sizeof s + uint64_t{s.nsems} * 2) {
      invalid(fmt::format("sysv-sem resource of set {}: {} semaphores in {} bytes", s.id, s.nsems, bytes.size()));
    }
  } else if (type == ResourceType::SysvMsg) {
    SysvMsgResource q = fixed<SysvMsgResource>(bytes, false, "SysvMsg resource");
    uint64_t at = sizeof q;
    for (uint32_t i = 0; i < q.count; ++i) {
      SysvMessageHeader m{};
      if (bytes.size() - at < sizeof m) {
        invalid(fmt::format("sysv-msg resource of queue {}: message {} is cut short", q.id, i));
      }
      memcpy(&m, bytes.data() + at, sizeof m);
      at += sizeof m;
      if (m.type <= 0 || m.length > bytes.size() - at) {
        invalid(fmt::format("sysv-msg resource of queue {}: message {} has type {} and {} bytes", q.id, i, m.type,
                            m.length));
      }
      at += m.length;
    }
    if (at != bytes.size()) {
      invalid(fmt::format("sysv-msg resource of queue {}: {} bytes after its {} messages", q.id, bytes.size() - at,
                          q.count));
    }
  } else if (type == ResourceType::RegionMemPolicy) {
    RegionMemPolicyResource r{};
    memcpy(&r, bytes.data(), sizeof r);
    if (r.start >= r.end || r.end > kUserAddressLimit || r.start % 4096 != 0 || r.reserved != 0) {
      invalid(fmt::format("region-mempolicy resource of range {:#x}-{:#x} is not a valid range", r.start, r.end));
    }
  } else if (type == ResourceType::SysvShm) {
    SysvShmResource m{};
    memcpy(&m, bytes.data(), sizeof m);
    if (m.id < 0 || m.size == 0 || m.address % 4096 != 0 || m.length == 0 || m.length % 4096 != 0 ||
        m.address + m.length > kUserAddressLimit || m.address + m.length < m.address || m.offset != 0 ||
        m.length < m.size || m.length - m.size >= 4096 || (m.flags & ~7u) != 0) {
      invalid(fmt::format("sysv-shm resource of segment {} at {:#x} ({} bytes, {} mapped) is not a valid attachment",
                          m.id, m.address, m.size, m.length));
    }
  }
}

void decode_resource(Payload payload, Image& image) {
  ResourceHeader h = fixed<ResourceHeader>(payload, false, "Resource");
  if (h.length != payload.size() - sizeof h) {
    invalid(fmt::format("length {} does not match the payload ({} bytes after the ResourceHeader)", h.length,
                        payload.size() - sizeof h));
  }
  auto type = static_cast<ResourceType>(h.type);
  if (!known(type)) {
    invalid(fmt::format("unknown resource type {}", h.type));
  }
  if (h.reserved != 0) {
    invalid("resource reserved field is not zero");
  }
  bool per_fd = type == ResourceType::FdInfo || type == ResourceType::FileContents || type == ResourceType::Terminal;
  bool per_thread = type == ResourceType::Affinity || type == ResourceType::MemPolicy;
  if (per_fd) {
    bool found = false;
    for (const FdEntry& fd : image.fds) {
      found = found || fd.record.fd == h.fd;
    }
    if (!found) {
      invalid(fmt::format("{} resource of fd {}, which is not in the image", resource_type_name(type), h.fd));
    }
  } else if (h.fd != -1) {
    invalid(fmt::format("{} resource names fd {}", resource_type_name(type), h.fd));
  }
  if (per_thread) {
    bool found = false;
    for (const ThreadRecord& t : image.threads) {
      found = found || t.tid == h.tid;
    }
    if (!found) {
      invalid(fmt::format("{} resource of thread {}, which is not in the image", resource_type_name(type), h.tid));
    }
  } else if (h.tid != 0) {
    invalid(fmt::format("{} resource names thread {}", resource_type_name(type), h.tid));
  }
  size_t expected = 0;
  switch (type) {
    case ResourceType::PosixTimer:
      expected = sizeof(PosixTimerResource);
      break;
    case ResourceType::IntervalTimer:
      expected = sizeof(IntervalTimerResource);
      break;
    case ResourceType::Prctl:
      expected = sizeof(PrctlResource);
      break;
    case ResourceType::MemPolicy:
      expected = sizeof(MemPolicyResource);
      break;
    case ResourceType::Terminal:
      expected = sizeof(TerminalResource);
      break;
    case ResourceType::RegionMemPolicy:
      expected = sizeof(RegionMemPolicyResource);
      break;
    case ResourceType::SysvShm:
      expected = sizeof(SysvShmResource);
      break;
    default:
      break;
  }
  if (expected != 0 && h.length != expected) {
    invalid(fmt::format("{} resource of {} bytes (expected {})", resource_type_name(type), h.length, expected));
  }
  auto bytes = payload.subspan(sizeof h);
  check_resource_contents(type, bytes);
  image.resources.push_back({h, std::vector<std::byte>(bytes.begin(), bytes.end())});
}

void decode_fd_data(Payload payload, Image& image) {
  FdDataHeader h = fixed<FdDataHeader>(payload, false, "FdData");
  if (h.length != payload.size() - sizeof h || h.length > kMaxFdDataPayload) {
    invalid(fmt::format("length {} does not match the payload ({} bytes after the FdDataHeader)", h.length,
                        payload.size() - sizeof h));
  }
  const FdRecord* owner = nullptr;
  for (const FdEntry& fd : image.fds) {
    auto kind = static_cast<FdKind>(fd.record.kind);
    if (fd.record.inode == h.inode && (kind == FdKind::PipeRead || kind == FdKind::PipeWrite ||
                                       kind == FdKind::UnixPair || kind == FdKind::Fifo || kind == FdKind::UnixBound)) {
      owner = &fd.record;
      break;
    }
  }
  if (owner == nullptr) {
    invalid(fmt::format("inode {} is not a pipe or socketpair end of any Fd record", h.inode));
  }
  for (const FdDataEntry& other : image.fd_data) {
    if (other.inode == h.inode) {
      invalid(fmt::format("inode {} has a second FdData record", h.inode));
    }
  }
  auto bytes = payload.subspan(sizeof h);
  FdDataEntry entry{h.inode, std::vector<std::byte>(bytes.begin(), bytes.end()), {}};
  bool messages = (static_cast<FdKind>(owner->kind) == FdKind::UnixPair && owner->socket_type != kSocketStream) ||
                  static_cast<FdKind>(owner->kind) == FdKind::UnixBound;
  for (uint64_t at = 0; messages && at < bytes.size();) {
    FdMessageHeader m;
    if (bytes.size() - at < sizeof m) {
      invalid(fmt::format("message {} of inode {}: its length is cut off ({} bytes left)", entry.messages.size(),
                          h.inode, bytes.size() - at));
    }
    std::memcpy(&m, bytes.data() + at, sizeof m);
    at += sizeof m;
    if (m.length > bytes.size() - at) {
      invalid(fmt::format("message {} of inode {}: length {} runs past the end of the data ({} bytes left)",
                          entry.messages.size(), h.inode, m.length, bytes.size() - at));
    }
    entry.messages.emplace_back(bytes.begin() + static_cast<ptrdiff_t>(at),
                                bytes.begin() + static_cast<ptrdiff_t>(at + m.length));
    at += m.length;
  }
  image.fd_data.push_back(std::move(entry));
}

void check_pages_header(const PagesHeader& pages, uint64_t raw_size, const Image& image, bool zero_fill) {
  if (zero_fill && pages.length > kMaxPagesPayload) {
    invalid(fmt::format("zero-fill length {} is above the limit of {}", pages.length, kMaxPagesPayload));
  }
  if (!zero_fill && pages.length != raw_size - sizeof pages) {
    invalid(fmt::format("length {} does not match raw_size {}", pages.length, raw_size));
  }
  if (!page_aligned(pages.address) || !page_aligned(pages.length) || pages.length == 0) {
    invalid(fmt::format("pages {:x}+{:#x} are not whole pages", pages.address, pages.length));
  }
  uint64_t end = pages.address + pages.length;
  const RegionEntry* region = region_containing(image, pages.address);
  if (region == nullptr || end < pages.address || end > region->record.end) {
    invalid(fmt::format("pages {} are not inside one region", range(pages.address, end)));
  }
  if (!region_has_pages(region->record.kind)) {
    invalid(fmt::format("pages {} are in region {}, which is {} and has no pages", range(pages.address, end),
                        range(region->record.start, region->record.end),
                        region_kind_name(static_cast<RegionKind>(region->record.kind))));
  }
}

void decode_end(Payload payload, Image& image, uint64_t record_index, uint64_t offset, uint64_t pages_bytes) {
  EndRecord e = fixed<EndRecord>(payload, true, "End");
  if (e.record_count != record_index) {
    invalid(fmt::format("record_count {} but {} records precede it", e.record_count, record_index));
  }
  if (e.pages_bytes != pages_bytes) {
    invalid(fmt::format("pages_bytes {} but the Pages records hold {}", e.pages_bytes, pages_bytes));
  }
  if (e.file_bytes != offset) {
    invalid(fmt::format("file_bytes {} but the record is at offset {}", e.file_bytes, offset));
  }
  image.end = e;
}

void check_image(const Image& image) {
  std::set<int32_t> tids;
  size_t mains = 0;
  for (const ThreadRecord& t : image.threads) {
    if (!tids.insert(t.tid).second) {
      invalid(fmt::format("thread {} appears twice", t.tid));
    }
    mains += (t.flags & kThreadMain) != 0 ? 1 : 0;
  }
  if (mains != 1) {
    invalid(fmt::format("{} threads are marked main; exactly one must be", mains));
  }

  // Every socketpair end's peer is in the image, connected back to it, of the same type.
  std::map<uint64_t, const FdRecord*> ends;  // inode -> one of its descriptors
  for (const FdEntry& fd : image.fds) {
    if (static_cast<FdKind>(fd.record.kind) == FdKind::UnixPair) {
      ends.emplace(fd.record.inode, &fd.record);
    }
  }
  for (const auto& [inode, end] : ends) {
    auto peer = ends.find(end->peer_inode);
    if (peer == ends.end() && (image.header.flags & kFileScopeMember) != 0) {
      continue;  // in a sibling image of the scope: the scope's restorer checks it
    }
    if (peer == ends.end()) {
      invalid(fmt::format("fd {} (unix-pair, inode {}): its peer inode {} is not a unix-pair descriptor of the image",
                          end->fd, inode, end->peer_inode));
    }
    const FdRecord& p = *peer->second;
    if (p.peer_inode != inode) {
      invalid(fmt::format("fd {} (unix-pair, inode {}): its peer fd {} (inode {}) is connected to inode {} instead",
                          end->fd, inode, p.fd, p.inode, p.peer_inode));
    }
    if (p.socket_type != end->socket_type) {
      invalid(fmt::format("fd {} (unix-pair, inode {}) is {} but its peer fd {} is {}", end->fd, inode,
                          socket_type_name(static_cast<SocketType>(end->socket_type)), p.fd,
                          socket_type_name(static_cast<SocketType>(p.socket_type))));
    }
  }

  std::vector<const PagesRef*> sorted;
  sorted.reserve(image.pages.size());
  for (const PagesRef& pages : image.pages) {
    sorted.push_back(&pages);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->address < b->address; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->address < sorted[i - 1]->address + sorted[i - 1]->length) {
      invalid(fmt::format("pages at {:x} are saved twice (records {} and {})", sorted[i]->address,
                          sorted[i - 1]->record_index, sorted[i]->record_index));
    }
  }

  // Pages records are sorted now; walk them with the (sorted) regions.
  size_t next = 0;
  for (const RegionEntry& region : image.regions) {
    uint64_t saved = 0;
    while (next < sorted.size() && sorted[next]->address < region.record.end) {
      saved += sorted[next]->length / kPage;
      ++next;
    }
    if (saved != region.record.pages_saved) {
      invalid(fmt::format("region {} claims {} saved pages but the Pages records hold {}",
                          range(region.record.start, region.record.end), region.record.pages_saved, saved));
    }
  }
}

}  // namespace crcore::image
