// Barriers of a scope checkpoint (see scope_barrier.h). RESTRICTED CODE: syscalls only.
#include "runtime/scope_barrier.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>

#include "control/control_protocol.h"
#include "runtime/raw_syscall.h"

namespace crcore::runtime {

BarrierAnswer scope_barrier(int connection_fd, uint32_t stage, uint64_t deadline_ns) {
  control::Barrier out{control::kBarrierMagic, control::kControlVersion, stage, 1};
  if (send(connection_fd, &out, sizeof out, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof out)) {
    return BarrierAnswer::Lost;
  }
  // The other processes of the scope may take long to stop or write: wait as long as the
  // checkpoint's own deadline allows (none: until the requester answers or goes away).
  timeval limit{0, 0};
  if (deadline_ns != 0) {
    uint64_t now = monotonic_ns();
    uint64_t left = deadline_ns > now ? deadline_ns - now : 1000000;
    limit.tv_sec = static_cast<time_t>(left / 1000000000ull);
    limit.tv_usec = static_cast<suseconds_t>((left % 1000000000ull) / 1000);
  }
  setsockopt(connection_fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  control::Barrier in{};
  ssize_t n;
  do {
    n = recv(connection_fd, &in, sizeof in, 0);
  } while (n < 0 && errno == EINTR);
  timeval usual{10, 0};  // back to the connection's usual limit for the Commit (manager.cpp: serve)
  setsockopt(connection_fd, SOL_SOCKET, SO_RCVTIMEO, &usual, sizeof usual);
  if (n != static_cast<ssize_t>(sizeof in) || in.magic != control::kBarrierMagic ||
      in.version != control::kControlVersion || in.stage != stage) {
    return BarrierAnswer::Lost;
  }
  return in.proceed == 1 ? BarrierAnswer::Proceed : BarrierAnswer::Abandon;
}

}  // namespace crcore::runtime
