// Signals pending at the checkpoint (per thread and per process), carried across a restart.
//
// The kernel's pending queues are not part of memory, so each one is read by dequeuing it
// (rt_sigtimedwait, which gives every queued real-time signal with its siginfo) and put straight
// back (rt_tgsigqueueinfo / rt_sigqueueinfo): the running process keeps them, and the copy on the
// caller's stack (part of the image) queues them again in the restored process.
// A parked thread does it for its own private queue in its checkpoint-signal handler; the manager
// does it for the process's shared queue once every thread has parked.
// ASYNC-SIGNAL-SAFE: raw syscalls and plain data only.
#pragma once

#include <signal.h>

#include <cstdint>

namespace crcore::runtime {

inline constexpr int kMaxPendingSignals = 16;

struct PendingSignals {
  int count = 0;
  bool shared = false;  // the process's queue (else the calling thread's)
  siginfo_t info[kMaxPendingSignals];
};

// Takes and puts back the calling thread's private pending signals (shared = false) or the
// process's shared ones (shared = true), except `skip` (the checkpoint signal). Signals beyond
// kMaxPendingSignals stay queued in the running process and are not carried over (and the ones
// taken are put back after them). The array lives on the caller's stack: a thread interrupted on
// a small sigaltstack needs room for it (2 KiB).
void take_pending_signals(PendingSignals& pending, bool shared, int skip);

// Queues them again: to the calling thread, or to the process.
void requeue_pending_signals(const PendingSignals& pending);

}  // namespace crcore::runtime
