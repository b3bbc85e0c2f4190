// Saving and resuming a thread's callee-saved context (a setjmp without the signal mask).
//
// cr_save_context() returns 0 when it saves; it "returns" 1 a second time when the restart stage
// resumes a restored thread at the saved point. Only callee-saved registers, the stack pointer,
// the return address, MXCSR and the x87 control word are kept: everything else is dead across a
// call by the x86-64 ABI. Async-signal-safe.
#pragma once

#include "image/format.h"

extern "C" {
// Returns 0 after saving; 1 when resumed by the restart stage.
int cr_save_context(crcore::image::SavedContext* context) __attribute__((returns_twice));
}
