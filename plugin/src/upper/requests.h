// Requests of the application (and of the layer's own blocking calls, which are made of nonblocking
// ones so that a checkpoint can always find a thread between two tests).
//
// Every function here is called inside a gate passage (gate.h): the registry of pending requests
// changes only there, so the quiesce, which holds every application thread outside the lower half,
// never sees it half changed. Requests of nonblocking calls are kept for reuse once retired; those of
// blocking calls live on the caller's stack (CallRequests) and are lent to the registry only while
// the thread is held for a checkpoint, the only time the quiesce or a restart looks at them.
#pragma once

#include <mpi.h>

#include "lower_api.h"
#include "objects.h"
#include "traffic.h"

namespace crmpi {

// Which nonblocking send: resolved in the lower half only after the gate is passed (a restart may
// replace the lower half while a call waits at the gate).
enum class SendMode { Standard, Synchronous, Ready };

// Records what a request is (the recipe a restart re-posts a receive from).
inline void describe(VRequest& r, RequestKind what, void* buffer, int count, MPI_Datatype type, int peer, int tag,
                     VComm* comm) {
  r.what = what;
  r.real = nullptr;
  r.complete = false;
  r.detached = false;
  r.buffer = buffer;
  r.count = count;
  r.type = type;
  r.peer = peer;
  r.tag = tag;
  r.comm = comm;
}

// Posts a send or a receive into a request (a receive is served from drained messages first).
void post_send(VRequest& request, const void* buffer, int count, MPI_Datatype type, int dest, int tag, VComm* comm,
               SendMode mode, const char* call);
void start_receive_held(VRequest* request, const char* call);
inline void post_receive(VRequest& r, void* buffer, int count, MPI_Datatype type, int source, int tag, VComm* comm,
                         const char* call) {
  describe(r, RequestKind::Recv, buffer, count, type, source, tag, comm);
  if (traffic().drained.empty()) [[likely]] {  // nothing drained by a checkpoint: straight to the lower half
    check(lower.Irecv(buffer, count, real_type(type, call), source, tag, comm->real, &r.real), call);
    return;
  }
  start_receive_held(&r, call);
}
// The same for a nonblocking call: a new pending request.
VRequest* post_send(const void* buffer, int count, MPI_Datatype type, int dest, int tag, VComm* comm, SendMode mode,
                    const char* call);
VRequest* post_receive(void* buffer, int count, MPI_Datatype type, int source, int tag, VComm* comm, const char* call);
// start_receive_held (re)posts a pending receive in the lower half, or completes it from a drained
// message. Also the restart's (the quiesce's thread, while the gate holds every application thread).

// Waits for one pending request: tests it, passing the gate's pause point between tests (where a
// checkpoint, and a restart, may take place).
void wait_for(VRequest* request);
// Hands a completed pending request back: status copied out, request forgotten.
void retire(VRequest* request, MPI_Status* status);

// The requests of one blocking call (at most two: Sendrecv), on its stack, in posting order.
class CallRequests {
 public:
  VRequest& add(VRequest& request) {
    mine_[count_++] = &request;
    return request;
  }
  // Waits for one of them; while held for a checkpoint, all of them are pending requests. The first
  // test follows the post directly: a message that had arrived, or an eager send, completes here
  // without entering the waiting loop.
  void wait_for(VRequest& request) {
    if (!progress(&request)) {
      wait_loop(request);
    }
  }

 private:
  void wait_loop(VRequest& request);
  void pause();
  VRequest* mine_[2] = {nullptr, nullptr};
  int count_ = 0;
};

// Between two tests of a waiting loop: the gate's pause point, and after a while, when the node is
// oversubscribed (wait_policy.h), the processor is given to others.
void idle(unsigned spins);

}  // namespace crmpi
