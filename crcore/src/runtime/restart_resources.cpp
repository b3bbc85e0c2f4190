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

bool walk(int fd, RestartResources& out) {
  image::FileHeader file{};
  if (!read_exactly(fd, &file, sizeof file) || memcmp(file.magic, image::kFileMagic, sizeof file.magic) != 0 ||
      lseek(fd, file.header_size, SEEK_SET) != static_cast<off_t>(file.header_size)) {
    return false;
  }
  for (;;) {
    image::RecordHeader h{};
    if (!read_exactly(fd, &h, sizeof h) || h.magic != image::kRecordMagic) {
      return false;
    }
    if (h.kind == static_cast<uint16_t>(image::RecordKind::End)) {
      return true;
    }
    uint64_t left = h.stored_size;
    if (h.kind == static_cast<uint16_t>(image::RecordKind::Resource) && left >= sizeof(image::ResourceHeader)) {
      image::ResourceHeader r{};
      if (!read_exactly(fd, &r, sizeof r)) {
        return false;
      }
      left -= sizeof r;
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
      if (!ok) {
        return false;
      }
    }
    if (left > 0 && lseek(fd, static_cast<off_t>(left), SEEK_CUR) < 0) {
      return false;
    }
  }
}

// Whether the image holds a resource the runtime applies itself; with the descriptor at the first
// record. Reads record headers only: no allocation.
bool has_runtime_resources(int fd) {
  image::FileHeader file{};
  if (!read_exactly(fd, &file, sizeof file) || memcmp(file.magic, image::kFileMagic, sizeof file.magic) != 0 ||
      lseek(fd, file.header_size, SEEK_SET) != static_cast<off_t>(file.header_size)) {
    return true;  // not walkable here: the full walk says why
  }
  for (;;) {
    image::RecordHeader h{};
    if (!read_exactly(fd, &h, sizeof h) || h.magic != image::kRecordMagic) {
      return true;
    }
    if (h.kind == static_cast<uint16_t>(image::RecordKind::End)) {
      return false;
    }
    uint64_t left = h.stored_size;
    if (h.kind == static_cast<uint16_t>(image::RecordKind::Resource) && left >= sizeof(image::ResourceHeader)) {
      image::ResourceHeader r{};
      if (!read_exactly(fd, &r, sizeof r)) {
        return true;
      }
      if (r.type == static_cast<uint32_t>(image::ResourceType::RegionMemPolicy) ||
          r.type == static_cast<uint32_t>(image::ResourceType::SysvShm)) {
        return true;
      }
      left -= sizeof r;
    }
    if (left > 0 && lseek(fd, static_cast<off_t>(left), SEEK_CUR) < 0) {
      return true;
    }
  }
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
