// The requester's side of the kernel-module backend (/dev/crcore, docs/kmod.md), used by
// cr_checkpoint --backend=kmod: the same Request/Response/Commit as the control socket, carried
// by the module's ioctls instead.
#pragma once

#include <cstdint>
#include <string>

#include "control/control_protocol.h"

namespace crcore::control {

// True when /dev/crcore exists (the module is loaded).
bool kmod_device_present();

class KmodRequester {
 public:
  KmodRequester() = default;
  KmodRequester(const KmodRequester&) = delete;
  KmodRequester& operator=(const KmodRequester&) = delete;
  ~KmodRequester();

  // Opens the device and checks its ABI. "" on success.
  std::string open_device();
  // Asks for a checkpoint of pid into image_fd. "" on success; `not_registered` is set when the
  // target does not run the crcore runtime with the module (started before it was loaded?).
  std::string send_request(int pid, const Request& request, int image_fd, bool* not_registered = nullptr);
  // Waits up to timeout_ms (0: no limit) for the result. "" on success.
  std::string wait_response(Response& response, int timeout_ms);
  std::string send_commit(bool committed);

 private:
  int fd_ = -1;
  uint64_t id_ = 0;
};

}  // namespace crcore::control
