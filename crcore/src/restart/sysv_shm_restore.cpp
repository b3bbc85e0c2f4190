// sysv_shm_restore.h.
#include "restart/sysv_shm_restore.h"

#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "image/image_reader.h"
#include "restart/restorer.h"
#include "restart/sysv_ipc_restore.h"

namespace crcore::restart {
namespace {

// The segment's id, created or reused.
void recreate(const image::SysvShmResource& m, const std::string& what) {
  struct shmid_ds ds {};
  if (shmctl(m.id, IPC_STAT, &ds) == 0) {
    if (ds.shm_perm.__key != m.key || ds.shm_segsz != m.size) {
      throw RestartError(what + ": its id now belongs to another segment (key " + hex(ds.shm_perm.__key) + ", " +
                         std::to_string(ds.shm_segsz) + " bytes)");
    }
    return;  // still there: filled again below
  }
  if (errno != EINVAL && errno != EIDRM) {
    throw RestartError(what + ": " + strerror(errno));
  }
  if (m.key != IPC_PRIVATE) {
    int other = shmget(m.key, 0, 0);
    if (other >= 0) {
      throw RestartError(what + ": its key now names segment " + std::to_string(other));
    }
  }
  create_sysv_with_id(
      what, "/proc/sys/kernel/shm_next_id", m.id,
      [&] { return shmget(m.key, m.size, IPC_CREAT | IPC_EXCL | static_cast<int>(m.mode)); },
      [](int id) { shmctl(id, IPC_RMID, nullptr); });
}

// Writes the pages the images hold for every attachment of the segment into it (zeros elsewhere).
// Every attachment counts: a page is saved only from the attachments whose page tables had it
// (touched through them), and the processes of a scope may have touched different pages.
void fill(const std::vector<SysvShmAttachment>& attachments, const image::SysvShmResource& m, const std::string& what) {
  for (const auto& a : attachments) {
    for (const auto& r : a.image->regions) {
      if (r.record.start < a.record.address + a.record.length && a.record.address < r.record.end &&
          (r.record.flags & image::kRegionInherits) != 0) {
        throw RestartError(what + ": its contents are partly in an older image of the incremental chain (SysV " +
                           "shared memory is restored from full images only)");
      }
    }
  }
  void* at = shmat(m.id, nullptr, 0);
  if (at == reinterpret_cast<void*>(-1)) {
    throw RestartError(what + ": cannot attach it to fill it: " + strerror(errno));
  }
  auto* base = static_cast<std::byte*>(at);
  memset(base, 0, m.size);
  try {
    for (size_t i = 0; i < attachments.size(); ++i) {
      const image::Image* image = attachments[i].image;
      bool seen = false;  // each image is read once, for all its attachments of the segment
      for (size_t k = 0; k < i; ++k) {
        seen = seen || attachments[k].image == image;
      }
      if (seen) {
        continue;
      }
      image::ImageReader reader(image->path);
      reader.for_each_pages(*image, [&](uint64_t address, std::span<const std::byte> bytes) {
        uint64_t end = address + bytes.size();
        for (const auto& a : attachments) {
          if (a.image != image) {
            continue;
          }
          uint64_t s = std::max(address, a.record.address), e = std::min(end, a.record.address + m.size);
          if (s < e) {
            memcpy(base + (s - a.record.address), bytes.data() + (s - address), e - s);
          }
        }
      });
    }
  } catch (...) {
    shmdt(at);
    throw;
  }
  shmdt(at);
}

}  // namespace

void restore_sysv_segment(const std::vector<SysvShmAttachment>& attachments) {
  const image::SysvShmResource& m = attachments.at(0).record;
  std::string what = "SysV shared memory segment " + std::to_string(m.id) + " (key " + hex(m.key) + ")";
  for (const auto& a : attachments) {
    if (a.record.key != m.key || a.record.size != m.size) {
      throw RestartError(what + ": its attachments in the images disagree on its key or size");
    }
  }
  recreate(m, what);
  fill(attachments, m, what);
  struct shmid_ds ds {};
  if (shmctl(m.id, IPC_STAT, &ds) != 0) {
    throw RestartError(what + ": " + strerror(errno));
  }
  ds.shm_perm.uid = m.uid;
  ds.shm_perm.gid = m.gid;
  ds.shm_perm.mode = static_cast<unsigned short>(m.mode);
  if (shmctl(m.id, IPC_SET, &ds) != 0) {
    throw RestartError(what + ": cannot set its owner and mode: " + strerror(errno));
  }
}

}  // namespace crcore::restart
