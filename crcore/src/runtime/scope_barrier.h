// The two barriers of a scope checkpoint (--tree/--pgid/--sid), in the target process: see
// control_protocol.h. RESTRICTED CODE: runs in the manager thread while every application thread
// is stopped (one of them may hold malloc's lock): syscalls only, no allocation, no stdio.
#pragma once

#include <cstdint>

namespace crcore::runtime {

enum class BarrierAnswer {
  Proceed,  // the requester says go on
  Abandon,  // the requester says abandon this checkpoint (kBarrierStopped only)
  Lost,     // no answer: the requester is gone, the message was malformed, or the deadline passed
};

// Tells the requester on `connection_fd` that this process reached `stage`, and waits for its
// answer (until deadline_ns, 0: no limit; the requester's death ends the wait at once).
BarrierAnswer scope_barrier(int connection_fd, uint32_t stage, uint64_t deadline_ns);

}  // namespace crcore::runtime
