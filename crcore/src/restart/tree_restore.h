// cr_restart INDEX: recreates every process of a scope checkpoint (cr_checkpoint --tree/--pgid/--sid).
//
// Everything is read and checked first (the index, every image, that the sessions and process
// groups can be rebuilt). Then the pipes and socketpairs the processes shared are created once
// and refilled (ScopeFds), and the tree is forked top-down, depth first, one process at a time:
// each new process takes its session (setsid) and process group (setpgid), forks its own
// children (and its zombies, which exit at once with their recorded status and are left
// unreaped), reports that it is ready, and only then restores its own image. By default the
// processes get their original pids, in a new PID namespace (a tree's processes name each other
// by pid: waitpid, kill, process groups); --no-restore-pid gives new ones. cr_restart waits for
// the scope's first process and ends as it does.
#pragma once

#include <string>

#include "restart/restorer.h"

namespace crcore::restart {

[[noreturn]] void restore_scope(const std::string& index_path, RestartOptions options, bool restore_pids);

}  // namespace crcore::restart
