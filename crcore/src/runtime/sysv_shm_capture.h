// SysV shared memory segments the process has attached (image SysvShm resources): one record per
// attachment, found as the /SYSV mappings of /proc/self/maps (a mapping's inode is the segment's
// id), with the segment's key, mode, owner and size (shmctl IPC_STAT) and whether it is marked for
// deletion. The contents are not copied here: they are the pages of the mapping, saved with the
// process's memory (an AnonShared region). Refused, with a message naming the process and the
// segment: an attachment of which only a part is still mapped, or whose pieces differ in protection.
// RESTRICTED CODE (threads stopped): syscalls and plain data only.
#pragma once

#include <cstddef>

#include "runtime/capture_arena.h"
#include "runtime/resource_capture.h"

namespace crcore::runtime {

// Reads /proc/self/maps into the free end of the data pool, then appends the records.
// 0, -ENOTSUP with why, -ENOBUFS, or -errno.
int capture_sysv_shm(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size);

}  // namespace crcore::runtime
