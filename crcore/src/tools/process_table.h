// A snapshot of the processes of this PID namespace (/proc), and the scope of a checkpoint:
// --tree PID (PID and its descendants), --pgid PGID, --sid SID.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "image/scope_index.h"

namespace crcore::tools {

struct ProcessInfo {
  pid_t pid = 0;  // as seen from here
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  char state = '?';  // 'Z' for a zombie
  int exit_signal = 0;
  int exit_code = 0;  // zombies: the status waitpid() would report
  unsigned long long start_time = 0;
  uid_t uid = 0;
  std::string comm;
  // The same ids as the process itself sees them (its innermost PID namespace).
  pid_t ns_pid = 0, ns_pgid = 0, ns_sid = 0;
};

// One process; false when it does not exist (any more).
bool read_process(pid_t pid, ProcessInfo& out);

// Every process of /proc (threads are not processes). A process that vanishes while it is read is left out.
std::map<pid_t, ProcessInfo> read_process_table();

// The processes of the scope, parents before children. A clone without an exit signal (the
// copy-on-write image writer of a previous checkpoint, gone soon) is not part of any scope.
std::vector<ProcessInfo> scope_members(const std::map<pid_t, ProcessInfo>& table, image::ScopeKind kind, pid_t id);

}  // namespace crcore::tools
