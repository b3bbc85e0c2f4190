// Point-to-point bookkeeping for the quiesce: how many messages this rank sent to and received from
// every world rank, and the messages the drain received before the application asked for them.
// Receives are served from the drained messages first, in arrival order, so MPI's ordering between a
// pair of ranks holds across a checkpoint and a restart.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "lower_api.h"
#include "objects.h"

namespace crmpi {

struct Drained {
  VComm* comm;
  int source;  // communicator rank
  int tag;
  std::vector<char> bytes;  // as received with MPI_PACKED
};

class Traffic {
 public:
  void resize(int world_size);
  // Counted on every send and completed receive: inline (a bounds check and an increment).
  void sent(const VComm* comm, int dest) { count(sent_to, comm, dest); }
  void received(const VComm* comm, int source) { count(received_from, comm, source); }

  // The first drained message a receive (source, tag may be wildcards) on comm would match.
  const Drained* find(const VComm* comm, int source, int tag) const;
  // Delivers (and forgets) it into a receive buffer; fills status (if not MPI_STATUS_IGNORE).
  int deliver(const Drained* message, void* buffer, int count, MPI_Datatype upper_type, MPI_Status* status);
  void fill_status(const Drained& message, MPI_Status* status) const;

  std::vector<uint64_t> sent_to;
  std::vector<uint64_t> received_from;
  std::deque<Drained> drained;

 private:
  static void count(std::vector<uint64_t>& counts, const VComm* comm, int rank) {
    // MPI_PROC_NULL, a wildcard or a rank out of range counts nothing.
    if (static_cast<unsigned>(rank) < comm->world.size()) {
      ++counts[static_cast<size_t>(comm->world[static_cast<size_t>(rank)])];
    }
  }
};

extern Traffic g_traffic;
inline Traffic& traffic() { return g_traffic; }

// Tests a request once (the caller holds a gate passage); true when complete. Inline: the body of
// every waiting loop.
inline bool progress(VRequest* request) {
  if (request->complete) {
    return true;
  }
  if (request->real == nullptr) {
    return false;  // not posted yet (a restart re-posts it)
  }
  int flag = 0;
  // The status goes straight into the request: it is read only once the request is complete.
  check(lower.Test(&request->real, &flag, &request->status), "MPI_Test");
  if (flag == 0) {
    return false;
  }
  request->complete = true;
  request->real = nullptr;
  if (request->what == RequestKind::Recv) {
    traffic().received(request->comm, request->status.MPI_SOURCE);
  }
  return true;
}

}  // namespace crmpi
