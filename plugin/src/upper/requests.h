// Requests of the application (and of the layer's own blocking calls, which are made of nonblocking
// ones so that a checkpoint can always find a thread between two tests).
#pragma once

#include <mpi.h>

#include "objects.h"

namespace crmpi {

// Posts a send or a receive as a new pending request (a receive is served from drained messages
// first). The caller must not hold a gate passage.
// Which nonblocking send: resolved in the lower half only after the gate is passed (a restart may
// replace the lower half while a call waits at the gate).
enum class SendMode { Standard, Synchronous, Ready };

VRequest* post_send(const void* buffer, int count, MPI_Datatype type, int dest, int tag, VComm* comm, SendMode mode,
                    const char* call);
VRequest* post_receive(void* buffer, int count, MPI_Datatype type, int source, int tag, VComm* comm, const char* call);
// (Re)posts a pending receive in the lower half, or completes it from a drained message.
void start_receive(VRequest* request, const char* call);
// The same, for the quiesce's own thread while the gate holds every application thread.
void start_receive_held(VRequest* request, const char* call);

// Waits for one request (blocking calls' loop: tests, passes the gate's pause point, yields).
void wait_for(VRequest* request);
// Hands a completed request back: status copied out, request forgotten.
void retire(VRequest* request, MPI_Status* status);

}  // namespace crmpi
