// restart_resources.h.
#include "runtime/restart_resources.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crcore::runtime {
namespace {

constexpr uint64_t kMaxTopology = 16u << 20;

bool read_exactly(int fd, void* out, size_t size) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads one resource's payload of `left` bytes into `out` if it is one we keep; `left` becomes
// what is still to be skipped.
template <typename Record>
bool take(int fd, uint64_t& left, std::vector<Record>& out) {
  if (left != sizeof(Record)) {
    return true;  // not a record of this shape: skipped
  }
  Record record{};
  if (!read_exactly(fd, &record, sizeof record)) {
    return false;
  }
  left = 0;
  out.push_back(record);
  return true;
}

// How a walk of the resource records ended.
enum class WalkEnd { End, Stopped, Failed };
// What a visitor says of one resource.
enum class Visit { Next, Stop, Fail };

// Walks the image at fd (from its first byte) to its End record, calling visit(ResourceHeader, left)
// for each resource record: it reads what it keeps of the payload and leaves in `left` what is still
// to be skipped. The walk itself reads headers and seeks, nothing else (no allocation).
template <typename Visitor>
WalkEnd walk_resources(int fd, Visitor&& visit) {
  image::FileHeader file{};
  if (!read_exactly(fd, &file, sizeof file) || memcmp(file.magic, image::kFileMagic, sizeof file.magic) != 0 ||
      lseek(fd, file.header_size, SEEK_SET) != static_cast<off_t>(file.header_size)) {
    return WalkEnd::Failed;
  }
  for (;;) {
    image::RecordHeader h{};
    if (!read_exactly(fd, &h, sizeof h) || h.magic != image::kRecordMagic) {
      return WalkEnd::Failed;
    }
    if (h.kind == static_cast<uint16_t>(image::RecordKind::End)) {
      return WalkEnd::End;
    }
    uint64_t left = h.stored_size;
    if (h.kind == static_cast<uint16_t>(image::RecordKind::Resource) && left >= sizeof(image::ResourceHeader)) {
      image::ResourceHeader r{};
      if (!read_exactly(fd, &r, sizeof r)) {
        return WalkEnd::Failed;
      }
      left -= sizeof r;
      Visit next = visit(r, left);
      if (next != Visit::Next) {
        return next == Visit::Stop ? WalkEnd::Stopped : WalkEnd::Failed;
      }
    }
    if (left > 0 && lseek(fd, static_cast<off_t>(left), SEEK_CUR) < 0) {
      return WalkEnd::Failed;
    }
  }
}

bool walk(int fd, RestartResources& out) {
  return walk_resources(fd, [&](const image::ResourceHeader& r, uint64_t& left) {
           bool ok = true;
           if (r.type == static_cast<uint32_t>(image::ResourceType::RegionMemPolicy)) {
             ok = take(fd, left, out.region_policies);
           } else if (r.type == static_cast<uint32_t>(image::ResourceType::SysvShm)) {
             ok = take(fd, left, out.sysv_segments);
           } else if (r.type == static_cast<uint32_t>(image::ResourceType::Topology) && left < kMaxTopology) {
             out.topology.resize(left);
             ok = read_exactly(fd, out.topology.data(), left);
             left = 0;
           }
           return ok ? Visit::Next : Visit::Fail;
         }) == WalkEnd::End;
}

// Whether the image holds a resource the runtime applies itself (true when it cannot tell: the full
// walk then says why). Reads record headers only: no allocation.
bool has_runtime_resources(int fd) {
  return walk_resources(fd, [](const image::ResourceHeader& r, uint64_t&) {
           bool applied = r.type == static_cast<uint32_t>(image::ResourceType::RegionMemPolicy) ||
                          r.type == static_cast<uint32_t>(image::ResourceType::SysvShm);
           return applied ? Visit::Stop : Visit::Next;
         }) != WalkEnd::End;
}

}  // namespace

bool image_has_runtime_resources(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;
  }
  bool found = has_runtime_resources(fd);
  close(fd);
  return found;
}

bool read_restart_resources(const char* path, RestartResources& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool ok = walk(fd, out);
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

}  // namespace crcore::runtime
