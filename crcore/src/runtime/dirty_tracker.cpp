// Dirty-page tracking (see dirty_tracker.h). tracker_before_dump is RESTRICTED CODE: it runs while
// the application's threads are stopped and makes syscalls only, on memory set up beforehand.
#include "runtime/dirty_tracker.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "image/format.h"
#include "runtime/capture_arena.h"
#include "runtime/memory_capture.h"

namespace crcore::runtime {
namespace {

constexpr uint64_t kPage = 4096;

// The start of the shared mapping; the tables follow it.
struct StoreHeader {
  uint32_t current;   // the generation describing the last committed image
  uint32_t overflow;  // the writer ran out of hash entries: the next image must be full
  uint32_t range_count[2];
  uint64_t hash_count[2];
};

struct Tracker {
  char* map = nullptr;
  size_t map_size = 0;
  uint64_t hash_capacity = 0;  // per generation
  uint64_t list_capacity = 0;  // written and zapped lists, each
  int uffd = -1;
  bool uffd_ok = false;    // the kernel has WP_ASYNC, WP_UNPOPULATED and PAGEMAP_SCAN
  bool off = false;        // CRCORE_DIRTY_TRACKING=off
  bool hash_only = false;  // CRCORE_DIRTY_TRACKING=hash
  bool configured = false;
  bool trace = false;     // CRCORE_DIRTY_TRACKING_TRACE=1: failed scans on stderr
  bool valid = false;     // last_id names the last committed image, tracked since
  bool prearmed = false;  // the current generation's ranges were protected by tracker_prearm
  bool pending = false;   // this checkpoint's tracking is set up (tracker_before_dump succeeded)
  uint8_t last_id[16] = {};
  uint8_t pending_id[16] = {};
};

Tracker g_tracker;

StoreHeader& header() { return *reinterpret_cast<StoreHeader*>(g_tracker.map); }

TrackedRange* ranges(uint32_t generation) {
  return reinterpret_cast<TrackedRange*>(g_tracker.map + kPage) + generation * image::kMaxRegions;
}

PageHash* hashes(uint32_t generation) {
  auto* first = reinterpret_cast<char*>(ranges(2));
  return reinterpret_cast<PageHash*>(first) + generation * g_tracker.hash_capacity;
}

uapi::PageRegion* written_list() { return reinterpret_cast<uapi::PageRegion*>(hashes(2)); }
uapi::PageRegion* zapped_list() { return written_list() + g_tracker.list_capacity; }
uapi::PageRegion* lost_list() { return zapped_list() + g_tracker.list_capacity; }

void configure() {
  if (g_tracker.configured) {
    return;
  }
  g_tracker.configured = true;
  g_tracker.trace = getenv("CRCORE_DIRTY_TRACKING_TRACE") != nullptr;
  const char* mode = getenv("CRCORE_DIRTY_TRACKING");
  g_tracker.off = mode != nullptr && strcmp(mode, "off") == 0;
  g_tracker.hash_only = mode != nullptr && strcmp(mode, "hash") == 0;
  if (g_tracker.off || g_tracker.hash_only) {
    return;
  }
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | uapi::kUffdUserModeOnly));
  if (fd < 0) {
    return;  // no userfaultfd (or not allowed): hashing
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = uapi::kUffdFeatureWpAsync | uapi::kUffdFeatureWpUnpopulated;
  if (ioctl(fd, UFFDIO_API, &api) != 0) {
    close(fd);  // Linux < 6.7: no asynchronous write-protect
    return;
  }
  // PAGEMAP_SCAN came with WP_ASYNC; check that it answers anyway (an empty range).
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  uapi::PmScanArg probe{};
  probe.size = sizeof probe;
  if (pagemap < 0 || ioctl(pagemap, uapi::kPagemapScan, &probe) < 0) {
    if (pagemap >= 0) {
      close(pagemap);
    }
    close(fd);
    return;
  }
  close(pagemap);
  g_tracker.uffd = fd;
  g_tracker.uffd_ok = true;
}

// Appends what PAGEMAP_SCAN finds in [start, end) to list (from *count on). false: the scan failed
// (a VMA without asynchronous write-protect: unmapped and mapped again since) or the list is full.
bool scan(int pagemap, uint64_t start, uint64_t end, uint64_t flags, uint64_t inverted, uint64_t mask,
          uapi::PageRegion* list, uint64_t* count) {
  while (start < end) {
    if (*count >= g_tracker.list_capacity) {
      return false;
    }
    uapi::PmScanArg arg{};
    arg.size = sizeof arg;
    arg.flags = flags;
    arg.start = start;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(list + *count);
    arg.vec_len = g_tracker.list_capacity - *count;
    arg.category_inverted = inverted;
    arg.category_mask = mask;
    arg.return_mask = mask;
    long n = ioctl(pagemap, uapi::kPagemapScan, &arg);
    if (n < 0) {
      return false;
    }
    *count += static_cast<uint64_t>(n);
    if (arg.walk_end <= start) {
      return false;
    }
    start = arg.walk_end;
  }
  return true;
}

// "crcore: tracker: scan failed START END ERRNO" on stderr (hex), by hand: no stdio here.
void trace_failure(uint64_t start, uint64_t end, int error) {
  char line[96];
  char* q = line;
  for (const char* t = "crcore: tracker: scan failed "; *t != '\0'; ++t) {
    *q++ = *t;
  }
  for (uint64_t v : {start, end, static_cast<uint64_t>(error)}) {
    for (int shift = 44; shift >= 0; shift -= 4) {
      *q++ = "0123456789abcdef"[(v >> shift) & 15];
    }
    *q++ = ' ';
  }
  *q++ = '\n';
  (void)!write(2, line, static_cast<size_t>(q - line));
}

bool write_protect(uint64_t start, uint64_t end) {
  uffdio_writeprotect wp{};
  wp.range.start = start;
  wp.range.len = end - start;
  wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
  return ioctl(g_tracker.uffd, UFFDIO_WRITEPROTECT, &wp) == 0;
}

bool is_anonymous(uint32_t kind) {
  auto k = static_cast<image::RegionKind>(kind);
  return k == image::RegionKind::AnonPrivate || k == image::RegionKind::Heap || k == image::RegionKind::Stack;
}

// Registers [start, end) for asynchronous write-protect and protects what the scan of the last
// image's ranges did not already protect again (new memory, ranges whose scan failed, and the
// discarded pages, which hold no marker any more).
bool track_with_uffd(uint64_t start, uint64_t end, const TrackedRange* prev, uint32_t prev_count,
                     const uapi::PageRegion* zapped, uint64_t zapped_count, const uapi::PageRegion* lost,
                     uint64_t lost_count) {
  uffdio_register reg{};
  reg.range.start = start;
  reg.range.len = end - start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (ioctl(g_tracker.uffd, UFFDIO_REGISTER, &reg) != 0) {
    return false;
  }
  uint64_t cursor = start;
  for (uint32_t i = 0; i < prev_count && cursor < end; ++i) {
    const TrackedRange& p = prev[i];
    if (p.end <= cursor || p.start >= end || p.method != static_cast<uint32_t>(TrackMethod::Uffd) || !p.scan_ok) {
      continue;
    }
    if (p.start > cursor && !write_protect(cursor, p.start)) {
      return false;
    }
    cursor = p.end < end ? p.end : end;
  }
  if (cursor < end && !write_protect(cursor, end)) {
    return false;
  }
  for (const auto* list : {zapped, lost}) {
    uint64_t count = list == zapped ? zapped_count : lost_count;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t s = list[i].start > start ? list[i].start : start;
      uint64_t e = list[i].end < end ? list[i].end : end;
      if (s < e && !write_protect(s, e)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

int tracker_prepare(uint64_t resident_pages) {
  configure();
  g_tracker.pending = false;
  if (g_tracker.off) {
    return -ENOTSUP;
  }
  uint64_t want_hashes = resident_pages * 2 + (1u << 18);
  if (g_tracker.map != nullptr && resident_pages * 3 / 2 > g_tracker.hash_capacity) {
    munmap(g_tracker.map, g_tracker.map_size);  // grown too large: start again (the next image is full)
    g_tracker.map = nullptr;
    g_tracker.valid = false;
  }
  if (g_tracker.map == nullptr) {
    g_tracker.hash_capacity = want_hashes;
    g_tracker.list_capacity = resident_pages + (1u << 16);
    size_t size = kPage + 2 * image::kMaxRegions * sizeof(TrackedRange) + 2 * want_hashes * sizeof(PageHash) +
                  3 * g_tracker.list_capacity * sizeof(uapi::PageRegion);
    size = (size + kPage - 1) / kPage * kPage;
    // Shared: the copy-on-write writer fills in the hashes for its parent. Untouched pages cost nothing.
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      return -errno;
    }
    g_tracker.map = static_cast<char*>(p);
    g_tracker.map_size = size;
    g_tracker.valid = false;
  }
  if (getrandom(g_tracker.pending_id, sizeof g_tracker.pending_id, GRND_NONBLOCK) !=
      static_cast<ssize_t>(sizeof g_tracker.pending_id)) {
    return -EAGAIN;
  }
  return 0;
}

void tracker_prearm(CaptureArena& arena) {
  g_tracker.prearmed = false;
  if (g_tracker.map == nullptr || g_tracker.off || !g_tracker.uffd_ok || g_tracker.hash_only || g_tracker.valid) {
    return;
  }
  MemoryCapture memory;
  char why[128] = "";
  if (capture_regions(arena, memory, why, sizeof why) != 0) {
    return;  // the pause protects everything itself
  }
  StoreHeader& h = header();
  uint32_t cur = h.current & 1;
  TrackedRange* armed = ranges(cur);
  uint32_t count = 0;
  for (uint32_t i = 0; i < memory.region_count; ++i) {
    const image::RegionRecord& r = arena.regions[i].record;
    // A region that changes meanwhile fails to register or to protect: the pause does it then.
    if (is_anonymous(r.kind) && track_with_uffd(r.start, r.end, nullptr, 0, nullptr, 0, nullptr, 0)) {
      armed[count++] = {r.start, r.end, static_cast<uint32_t>(TrackMethod::Uffd), 0, 0, 0};
    }
  }
  h.range_count[cur] = count;
  g_tracker.prearmed = count > 0;
}

int tracker_before_dump(CaptureArena& arena, MemoryCapture& memory, bool incremental, IncrementalPlan& plan) {
  plan = IncrementalPlan{};
  if (g_tracker.map == nullptr || g_tracker.off) {
    return -ENOTSUP;
  }
  StoreHeader& h = header();
  uint32_t cur = h.current & 1;
  uint32_t nxt = cur ^ 1;
  TrackedRange* prev = ranges(cur);
  // Pre-armed ranges are scanned like the last image's: only what was written since is protected again.
  uint32_t prev_count = g_tracker.valid || g_tracker.prearmed ? h.range_count[cur] : 0;
  plan.incremental = incremental && g_tracker.valid;
  uapi::PageRegion* written = written_list();
  uapi::PageRegion* zapped = zapped_list();
  uapi::PageRegion* lost = lost_list();
  uint64_t written_count = 0, zapped_count = 0, lost_count = 0;
  for (uint32_t i = 0; i < prev_count; ++i) {
    prev[i].scan_ok = 0;
  }
  // The regions as they are now first: the last image's ranges are scanned piece by piece, one
  // current region at a time, so that a neighbour mapped anew (not registered) spoils only itself.
  // (Registering merges adjacent regions into one VMA, which a later munmap splits again.)
  char why[128] = "";
  int rc = capture_regions(arena, memory, why, sizeof why);
  if (rc != 0) {
    return rc;
  }
  if (g_tracker.uffd_ok && prev_count > 0) {
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    uint32_t first_region = 0;
    for (uint32_t i = 0; i < prev_count && pagemap >= 0; ++i) {
      TrackedRange& p = prev[i];
      if (p.method != static_cast<uint32_t>(TrackMethod::Uffd)) {
        continue;
      }
      p.scan_ok = 1;
      while (first_region < memory.region_count && arena.regions[first_region].record.end <= p.start) {
        ++first_region;
      }
      for (uint32_t k = first_region; k < memory.region_count && arena.regions[k].record.start < p.end; ++k) {
        const image::RegionRecord& r = arena.regions[k].record;
        uint64_t s = r.start > p.start ? r.start : p.start;
        uint64_t e = r.end < p.end ? r.end : p.end;
        if (s >= e || !is_anonymous(r.kind)) {
          continue;
        }
        uint64_t w = written_count, z = zapped_count;
        // Written since the last image, protected again in the same walk; then the pages discarded
        // since (neither present nor swapped, not even a write-protect marker: zero now).
        bool ok = scan(pagemap, s, e, uapi::kScanWpMatching | uapi::kScanCheckWpAsync, 0, uapi::kPageIsWritten, written,
                       &written_count) &&
                  scan(pagemap, s, e, 0, uapi::kPageIsPresent | uapi::kPageIsSwapped,
                       uapi::kPageIsPresent | uapi::kPageIsSwapped, zapped, &zapped_count);
        if (!ok) {
          int error = errno;
          written_count = w;  // this piece is written whole instead
          zapped_count = z;
          if (lost_count < g_tracker.list_capacity) {
            lost[lost_count++] = {s, e, 0};
          } else {
            p.scan_ok = 0;
          }
          if (g_tracker.trace) {
            trace_failure(s, e, error);
          }
        }
      }
    }
    if (pagemap >= 0) {
      close(pagemap);
    }
  }
  TrackedRange* next = ranges(nxt);
  uint32_t next_count = 0;
  for (uint32_t i = 0; i < memory.region_count; ++i) {
    const image::RegionRecord& r = arena.regions[i].record;
    if (!is_anonymous(r.kind)) {
      continue;
    }
    bool uffd = g_tracker.uffd_ok && !g_tracker.hash_only &&
                track_with_uffd(r.start, r.end, prev, prev_count, zapped, zapped_count, lost, lost_count);
    next[next_count++] = {r.start, r.end, static_cast<uint32_t>(uffd ? TrackMethod::Uffd : TrackMethod::Hash), 0, 0, 0};
  }
  h.range_count[nxt] = next_count;
  h.hash_count[nxt] = 0;
  h.overflow = 0;

  plan.tracking = true;
  memcpy(plan.parent_id, g_tracker.last_id, sizeof plan.parent_id);
  memcpy(plan.image_id, g_tracker.pending_id, sizeof plan.image_id);
  plan.prev = prev;
  plan.prev_count = prev_count;
  plan.prev_hashes = hashes(cur);
  plan.next = next;
  plan.next_count = next_count;
  plan.next_hashes = hashes(nxt);
  plan.next_hash_capacity = g_tracker.hash_capacity;
  plan.next_hash_count = &h.hash_count[nxt];
  plan.overflow = &h.overflow;
  plan.written = written;
  plan.written_count = written_count;
  plan.zapped = zapped;
  plan.zapped_count = zapped_count;
  plan.lost = lost;
  plan.lost_count = lost_count;
  g_tracker.pending = true;
  return 0;
}

void tracker_after_checkpoint(bool committed) {
  if (g_tracker.map == nullptr) {
    return;
  }
  StoreHeader& h = header();
  if (g_tracker.pending && committed && h.overflow == 0) {
    h.current ^= 1;
    memcpy(g_tracker.last_id, g_tracker.pending_id, sizeof g_tracker.last_id);
    g_tracker.valid = true;
  } else {
    g_tracker.valid = false;  // the changes since the last image are lost with this checkpoint
  }
  g_tracker.pending = false;
  g_tracker.prearmed = false;
}

void tracker_init() { configure(); }

void tracker_forget() {
  g_tracker = Tracker{};  // neither the mapping nor the descriptor is in the restored process
  configure();
}

void tracker_after_fork() {
  // The child shares the parent's mapping (MAP_SHARED) and holds its userfaultfd: both are the parent's.
  if (g_tracker.map != nullptr) {
    munmap(g_tracker.map, g_tracker.map_size);
  }
  if (g_tracker.uffd >= 0) {
    close(g_tracker.uffd);
  }
  g_tracker = Tracker{};
  configure();
}

void tracker_mapping(uint64_t* start, uint64_t* end) {
  *start = reinterpret_cast<uint64_t>(g_tracker.map);
  *end = *start + g_tracker.map_size;
}

int tracker_fd() { return g_tracker.uffd; }

}  // namespace crcore::runtime
