// The program's SysV semaphore and message-queue calls, seen by libcr (interposed like exec:
// exec_guard.h). They tell the checkpoint which SysV objects the process uses (the ids it got from
// semget/msgget or operated on, inherited by fork), keep the net SEM_UNDO adjustment the process
// holds on each semaphore, and retry a semop/semtimedop/msgsnd/msgrcv that a checkpoint interrupted
// (EINTR while the checkpoint serial moved), so a call blocked across a checkpoint, or across a
// restart, goes on blocking instead of failing. The wrappers are async-signal-safe (no allocation,
// no locks) and call the kernel directly (not glibc, so they are not pthread cancellation points).
#pragma once

#include <cstddef>
#include <cstdint>

namespace crcore::runtime {

enum class SysvKind : uint32_t { Semaphore = 0, Queue = 1 };

// The ids of `kind` the process has used, at most `max` of them into `out`; how many.
size_t sysv_used_ids(SysvKind kind, int32_t* out, size_t max);

// A SEM_UNDO adjustment the process holds (net of its own semops with SEM_UNDO): true and the
// first nonzero one, or false.
bool sysv_pending_undo(int32_t* id, uint32_t* semaphore, int32_t* adjustment);

// Whether a thread is inside a semop with SEM_UNDO (its adjustment is not known yet).
bool sysv_undo_in_flight();

}  // namespace crcore::runtime
