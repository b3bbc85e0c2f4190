// Point-to-point bookkeeping for the quiesce: how many messages this rank sent to and received from
// every world rank, and the messages the drain received before the application asked for them.
// Receives are served from the drained messages first, in arrival order, so MPI's ordering between a
// pair of ranks holds across a checkpoint and a restart.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace crmpi {

struct VComm;
struct VRequest;

struct Drained {
  VComm* comm;
  int source;  // communicator rank
  int tag;
  std::vector<char> bytes;  // as received with MPI_PACKED
};

class Traffic {
 public:
  void resize(int world_size);
  void sent(const VComm* comm, int dest);
  void received(const VComm* comm, int source);

  // The first drained message a receive (source, tag may be wildcards) on comm would match.
  const Drained* find(const VComm* comm, int source, int tag) const;
  // Delivers (and forgets) it into a receive buffer; fills status (if not MPI_STATUS_IGNORE).
  int deliver(const Drained* message, void* buffer, int count, MPI_Datatype upper_type, MPI_Status* status);
  void fill_status(const Drained& message, MPI_Status* status) const;

  std::vector<uint64_t> sent_to;
  std::vector<uint64_t> received_from;
  std::deque<Drained> drained;
};

extern Traffic g_traffic;
inline Traffic& traffic() { return g_traffic; }

// Tests a request once (the caller holds a gate passage); true when complete.
bool progress(VRequest* request);

}  // namespace crmpi
