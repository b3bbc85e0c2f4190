// sysv_shm_attach.h.
#include "runtime/sysv_shm_attach.h"

#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "image/format.h"
#include "runtime/runtime_state.h"

namespace crcore::runtime {
namespace {

bool read_all(int fd, void* out, size_t size) {
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

// The SysvShm records of the image at `path` (cr_restart checked it whole a moment ago: its
// records are walked, not checked again; resource records are never compressed).
bool read_segments(const char* path, std::vector<image::SysvShmResource>& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  image::FileHeader file{};
  bool ok = read_all(fd, &file, sizeof file) && memcmp(file.magic, image::kFileMagic, sizeof file.magic) == 0 &&
            lseek(fd, file.header_size, SEEK_SET) == static_cast<off_t>(file.header_size);
  while (ok) {
    image::RecordHeader h{};
    if (!read_all(fd, &h, sizeof h) || h.magic != image::kRecordMagic) {
      ok = false;
      break;
    }
    if (h.kind == static_cast<uint16_t>(image::RecordKind::End)) {
      break;
    }
    uint64_t left = h.stored_size;
    if (h.kind == static_cast<uint16_t>(image::RecordKind::Resource) && left >= sizeof(image::ResourceHeader)) {
      image::ResourceHeader r{};
      ok = read_all(fd, &r, sizeof r);
      left -= sizeof r;
      if (ok && r.type == static_cast<uint32_t>(image::ResourceType::SysvShm) &&
          left == sizeof(image::SysvShmResource)) {
        image::SysvShmResource m{};
        ok = read_all(fd, &m, sizeof m);
        left = 0;
        if (ok) {
          out.push_back(m);
        }
      }
    }
    if (ok && left > 0 && lseek(fd, static_cast<off_t>(left), SEEK_CUR) < 0) {
      ok = false;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

bool reattach_sysv_segments() {
  const char* path = g_runtime.restart_block.image_path;
  if (path[0] == '\0') {
    return true;
  }
  std::vector<image::SysvShmResource> segments;
  if (!read_segments(path, segments)) {
    fprintf(stderr, "crcore: restarted process %d: cannot walk %s again for its SysV shared memory: %s\n", getpid(),
            path, strerror(errno));
    return false;
  }
  bool ok = true;
  for (const auto& m : segments) {
    int flags = SHM_REMAP | ((m.flags & image::kSysvShmReadOnly) != 0 ? SHM_RDONLY : 0) |
                ((m.flags & image::kSysvShmExec) != 0 ? SHM_EXEC : 0);
    void* at = shmat(m.id, reinterpret_cast<void*>(m.address), flags);
    if (at != reinterpret_cast<void*>(m.address)) {
      fprintf(stderr,
              "crcore: restarted process %d: cannot attach SysV shared memory segment %d at %#llx again: %s "
              "(its contents stay there, detached from the segment)\n",
              getpid(), m.id, static_cast<unsigned long long>(m.address), strerror(errno));
      ok = false;
      continue;
    }
    if ((m.flags & image::kSysvShmRemoved) != 0 && shmctl(m.id, IPC_RMID, nullptr) != 0 && errno != EIDRM &&
        errno != EINVAL) {
      fprintf(stderr, "crcore: restarted process %d: cannot mark SysV shared memory segment %d for deletion: %s\n",
              getpid(), m.id, strerror(errno));
      ok = false;
    }
  }
  return ok;
}

}  // namespace crcore::runtime
