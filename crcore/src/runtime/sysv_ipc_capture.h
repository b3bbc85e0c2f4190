// SysV semaphore sets and message queues the process uses (image SysvSem and SysvMsg resources,
// format version 4): every object whose id the process got or operated on through libcr
// (sysv_ipc_calls.h) and that still exists. Semaphore values with semctl GETALL; queued messages
// copied without taking them (msgrcv MSG_COPY, which needs CONFIG_CHECKPOINT_RESTORE). Refused,
// with a message naming the process and the object: a SEM_UNDO adjustment the process holds (it
// cannot be given back to the restarted process), a semop with SEM_UNDO under way, a queue whose
// messages cannot be copied. RESTRICTED CODE (threads stopped): syscalls and plain data only.
#pragma once

#include <cstddef>

#include "runtime/capture_arena.h"
#include "runtime/resource_capture.h"

namespace crcore::runtime {

// 0, -ENOTSUP with why, -ENOBUFS, or -errno.
int capture_sysv_ipc(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size);

}  // namespace crcore::runtime
