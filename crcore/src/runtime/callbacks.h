// The registry of libcr callbacks and the nesting protocol that runs them.
//
// A callback is a function that calls cr_checkpoint() exactly once: what it does before the call
// prepares for the checkpoint, what it does after it handles continue or restart. The runtime
// runs the callbacks of one context as a nested chain: callback k's cr_checkpoint() runs
// callback k+1, and the innermost cr_checkpoint() performs the next stage (phase 2 for the
// thread-context chain, parking the thread for a signal-context chain). A callback that returns
// without calling cr_checkpoint() is treated as if it had called it with CR_CHECKPOINT_READY
// as its last action. The last registered callback is the outermost (BLCR's order);
// a non-zero return without cr_checkpoint() is a permanent failure, as in BLCR.
//
// The registry is a fixed pool published with atomics, so that a signal handler can read it
// while another thread registers: async-signal-safe to read, registration is not.
#pragma once

#include <cstdint>

#include "libcr.h"

namespace crcore::runtime {

inline constexpr int kMaxCallbacks = 256;

// The innermost stage of a chain: returns cr_checkpoint()'s value for every callback.
using ChainStage = int (*)(void* arg);

// Registration (normal context).
cr_callback_id_t register_callback(cr_callback_t func, void* arg, int flags);
int replace_callback(cr_callback_id_t id, cr_callback_t func, void* arg, int flags);

// Runs every thread-context callback as a chain around `stage`. Called by the manager thread.
// Returns what the callbacks' cr_checkpoint() returned, or the abort code (negative CR_E*).
int run_thread_context_chain(ChainStage stage, void* arg);

// Runs the signal-context callbacks registered by the calling thread around `stage`.
// Async-signal-safe (as far as crcore's own code goes).
int run_signal_context_chain(ChainStage stage, void* arg);

// cr_checkpoint(flags) as called from inside a callback; -CR_ENOTCB outside one.
int checkpoint_from_callback(int flags);

// True while the calling thread runs a chain (cr_status: CR_STATE_ACTIVE).
bool in_callback_chain();

// cr_replace_self: replaces the callback that is running on this thread. -1 outside one.
int replace_running_callback(cr_callback_t func, void* arg, int flags);

// True if the calling thread registered signal-context callbacks. Async-signal-safe.
bool thread_has_signal_callbacks();

// BLCR's hooks (cr_register_hook): one function per event, run by the thread concerned once a
// checkpoint is over. Async-signal-safe as far as crcore goes.
cr_hook_fn_t register_hook(cr_hook_event_t event, cr_hook_fn_t fn);
void run_hook(cr_hook_event_t event);

}  // namespace crcore::runtime
