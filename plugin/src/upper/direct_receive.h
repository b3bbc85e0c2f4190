// A small blocking receive that waits inside the lower half, as a plain MPI_Recv does, instead of in the
// layer's loop of tests (requests.h).
//
// The layer's loop gives a checkpoint its thread between two tests; a thread waiting inside the lower
// half's MPI_Recv gets no such chance by itself. So the layer hooks Open MPI's progress engine (a
// low-priority callback of opal_progress(), which the waiting thread runs again and again): once a
// checkpoint holds every call (Hold::All), the waiting thread cancels its own receive there, its
// MPI_Recv returns, and the call goes on as an ordinary blocking receive of the layer, which the
// checkpoint finds at its pause point. (With a pml other than ob1 the receive is MPI_Irecv plus
// MPI_Wait: direct_receive.cpp.) MPI_Cancel is exact: either the receive had not matched a message
// yet, and nothing was received (the message, if one comes, goes to the drain or to the receive posted
// again), or it had, and the receive completes with it.
//
// Used only where this is safe and worth it:
//   - a lower half at MPI_THREAD_SINGLE (the default with PMIx): the waiting thread is the only one in
//     the lower half, and it cancels its own request, from its own progress loop;
//   - a rank or MPI_ANY_SOURCE as the source (ob1 cancels a wildcard receive as exactly: it takes it off
//     the list of wildcard receives unless a message has matched it);
//   - a receive buffer of at most kEagerBytes: a message that matches it is complete when it matches
//     (below every transport's eager limit), so a matched receive never waits for its sender's progress,
//     which a held sender makes only in its drain;
//   - no drained message waiting: those are served by the layer's receive.
#pragma once

#include <mpi.h>

#include "objects.h"

namespace crmpi {

// At most this many bytes go eagerly on every transport of Open MPI 4.1 (the smallest eager limit is
// the self transport's, 1024 bytes, headers included). Also the layer's limit for a send it hands to
// the lower half's blocking MPI_Send.
constexpr long kEagerBytes = 512;

// At every start of the lower half (after its MPI_Init): registers the progress hook when the lower half
// runs MPI_THREAD_SINGLE and Open MPI's opal_progress_register_lp is there; otherwise direct receives
// stay off. CRCORE_MPI_DIRECT_RECEIVE=0 turns them off (for measurements); =irecv makes them MPI_Irecv
// plus MPI_Wait, as with a pml other than ob1 (for the tests).
void enable_direct_receives(int lower_thread_level);
extern bool g_direct_receives;
inline bool direct_receives_enabled() { return g_direct_receives; }
// How small receives wait, for the debug output.
const char* direct_receive_method();

// Receives into buf inside the lower half (a gate passage is open). True when a message was received
// (status filled, counted); false when a checkpoint cancelled the receive before it matched anything:
// the caller then receives the layer's way.
bool receive_direct(void* buf, int count, MPI_Datatype real_type, int source, int tag, VComm* comm, MPI_Status* status,
                    const char* call);

}  // namespace crmpi
