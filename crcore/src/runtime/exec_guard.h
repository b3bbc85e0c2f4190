// A thread that calls exec while a checkpoint stops the process's threads may receive the checkpoint
// signal after the point of no return: the new program would die of it (its default action) before
// libcr is loaded again. libcr's exec functions block the signal across the call (a pending one then
// reaches the new image's handler, which ignores a stray signal, or stays blocked in a program that
// does not load libcr). The runtime unblocks it once its handler is installed. An exec called while
// a checkpoint of this process is under way waits for its end (a process exec'ing in a loop would
// otherwise escape a tree checkpoint's scan again and again).
#pragma once

namespace crcore::runtime {

// Looks up the C library's exec functions (at start-up: never in a forked child).
void resolve_exec_functions();
// After the handler is installed: a signal inherited blocked from an exec is let in.
void unblock_checkpoint_signal(int signal);

}  // namespace crcore::runtime
