// The manager: crcore's thread inside every process it runs (BLCR's callback thread). It
// serves the control channel, runs phase 1 (thread-context callbacks), stops the other threads
// for phase 2, writes the image, and after a restart brings the runtime back up.
#pragma once

#include <cstdint>
#include <string>

#include "control/control_protocol.h"

namespace crcore::runtime {

// Starts the manager thread and its control socket (normal context). Returns "" or why not.
std::string start_manager();

// Runs one checkpoint of this process, as the manager does for a request. The image goes to
// image_fd; connection_fd (or -1) is the requester's channel, left out of the image. Fills
// response; returns cr_checkpoint()'s value for the thread-context callbacks (1: restarted).
int checkpoint_this_process(const control::Request& request, int image_fd, int connection_fd, int requester_pid,
                            control::Response& response);

// cr_get_checkpoint_info's data while a checkpoint is running.
struct CheckpointInfo {
  int requester;
  int signal;
  char dest[4096];
  uint64_t deadline_ns;  // CLOCK_MONOTONIC; 0 = no time limit
};
const CheckpointInfo* current_checkpoint_info();

}  // namespace crcore::runtime
