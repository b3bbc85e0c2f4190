// libcr's cr_request_checkpoint() for CR_SCOPE_TREE/PGRP/SESS: the scope's checkpoint is run by
// cr_checkpoint (tools/scope_checkpoint.cpp), started here with posix_spawn: it writes one image
// per process beside the caller's descriptor (DEST.<pid>, DEST being the file cr_fd names) and the
// scope index into cr_fd itself. cr_poll_checkpoint() then waits for that command.
#pragma once

#include <sys/types.h>

#include <string>

#include "libcr.h"

namespace crcore::runtime {

// Starts the checkpoint; returns the command's pid, or -1 with errno (and why).
pid_t start_scope_checkpoint(const cr_checkpoint_args_t& args, std::string& why);

// Waits up to timeout_ms (-1: no limit) for the command. 1: it succeeded; 0: still running;
// -1: it failed (errno CR_ETEMPFAIL) or cannot be waited for (errno ECHILD: this is a restored copy).
int poll_scope_checkpoint(pid_t command, int timeout_ms);

}  // namespace crcore::runtime
