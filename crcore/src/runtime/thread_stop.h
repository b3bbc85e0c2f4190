// Phase 2: stopping every application thread with the checkpoint signal, and releasing them.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/runtime_state.h"

namespace crcore::runtime {

// Installs the checkpoint signal's handler (normal context, at start-up).
void install_checkpoint_handler(int signal);

// Signals every thread but the manager and waits until each has parked, aborted or exited.
// Returns 0, or a negative CR_E* code with `why` filled. Manager thread only.
int stop_all_threads(uint64_t deadline_ns, char* why, size_t why_size);

// Lets every parked thread return from its handler with `outcome`. Manager thread only.
void release_threads(Outcome outcome);

// After a restart: waits until every thread that was parked is running again in its handler.
void wait_for_resumed_threads();

// Fills the calling thread's ThreadRecord (everything but the saved context).
void describe_current_thread(image::ThreadRecord& record, uint64_t sigmask, const void* altstack_sp,
                             uint64_t altstack_size, int altstack_flags);

}  // namespace crcore::runtime
