// cr_restart --restore-pid: the restored process gets its original pid and tids, as with BLCR.
//
// Where the pid (and every tid) is free, the restored process is created with it directly
// (clone3 set_tid; root or CAP_CHECKPOINT_RESTORE). Where one is taken, or the caller is not
// privileged, a new PID namespace (inside a new user namespace for an ordinary user) holds it:
// its pid 1 is a small init of ours that mounts a /proc of its own, starts the restored process
// with its pid, forwards signals to it and ends with it. cr_restart itself stays as the
// supervisor: it forwards signals and exits with the restored program's status.
#pragma once

#include "image/image.h"
#include "restart/restorer.h"

namespace crcore::restart {

[[noreturn]] void restore_with_original_pid(const image::Image& image, RestartOptions options);

}  // namespace crcore::restart
