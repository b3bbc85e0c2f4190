// sysv_shm_attach.h.
#include "runtime/sysv_shm_attach.h"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "image/format.h"

namespace crcore::runtime {
bool reattach_sysv_segments(const RestartResources& image) {
  bool ok = true;
  for (const auto& m : image.sysv_segments) {
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
