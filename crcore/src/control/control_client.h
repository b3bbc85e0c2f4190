// The requester's side of the control channel (see control_protocol.h), used by cr_checkpoint
// and by libcr's cr_request_checkpoint.
#pragma once

#include <string>

#include "control/control_protocol.h"

namespace crcore::control {

class Connection {
 public:
  Connection() = default;
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Connects to pid's runtime. Returns an error message, or "" on success.
  std::string connect_to(int pid);
  // Sends the request and the image descriptor.
  std::string send_request(const Request& request, int image_fd);
  // Waits up to timeout_ms (0: no limit) for the response. "" on success.
  std::string wait_response(Response& response, int timeout_ms);
  std::string send_commit(bool committed);
  int fd() const { return fd_; }
  // Forgets the descriptor without closing it (it does not exist in a restored process).
  void release() { fd_ = -1; }

 private:
  int fd_ = -1;
};

Request make_request(After after, uint32_t timeout_ms, bool compress, bool close_unsupported = false,
                     bool in_place = false);

}  // namespace crcore::control
