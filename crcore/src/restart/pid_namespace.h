// The pieces of cr_restart --restore-pid that a scope restart (tree_restore.cpp) shares with the
// one-process restart: defined in pid_restore.cpp.
#pragma once

#include <sys/types.h>

namespace crcore::restart {

// fork() into `pid` (clone3 set_tid): 0 in the child, the child's pid in the parent, -1 with errno.
long fork_into_pid(pid_t pid);
// Enters new user (when unprivileged), PID and mount namespaces; the next child forked is pid 1.
// Throws RestartError.
void enter_pid_namespace();
// Forwards the usual job-control and termination signals to `child`.
void forward_signals(pid_t child);
// Waits for `child` (reaping every other child meanwhile when reap_others) and ends this process
// the way the child ended.
[[noreturn]] void end_like_child(pid_t child, bool reap_others);

}  // namespace crcore::restart
