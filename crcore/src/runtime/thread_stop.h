// Phase 2: stopping every application thread with the checkpoint signal, and releasing them.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/runtime_state.h"

namespace crcore::runtime {

// Installs the checkpoint signal's handler (normal context, at start-up).
void install_checkpoint_handler(int signal);

// How long a thread may take to enter the checkpoint signal's handler when the request has no
// time limit (--time): a thread that blocks the signal (a raw rt_sigprocmask, which the runtime
// cannot intercept) would otherwise keep the checkpoint, and every stopped thread, waiting forever.
// Time a thread spends in its signal-context callbacks does not count.
constexpr uint64_t kDefaultStopTimeoutNs = 10'000'000'000ull;

// Signals every thread but the manager and waits until each has parked, aborted or exited:
// until deadline_ns, or when it is 0, until a thread has not entered the handler
// kDefaultStopTimeoutNs after the last new threads were signalled. Returns 0, or a negative
// CR_E* code with `why` filled (naming the late thread). Manager thread only.
int stop_all_threads(uint64_t deadline_ns, char* why, size_t why_size);

// Lets every parked thread return from its handler with `outcome`. Manager thread only.
void release_threads(Outcome outcome);

// After a restart: waits until every thread that was parked is running again in its handler.
void wait_for_resumed_threads();

// Fills the calling thread's ThreadRecord (everything but the saved context).
void describe_current_thread(image::ThreadRecord& record, uint64_t sigmask, const void* altstack_sp,
                             uint64_t altstack_size, int altstack_flags);

}  // namespace crcore::runtime
