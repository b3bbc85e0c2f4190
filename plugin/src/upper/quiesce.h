// Phase 1 of a checkpoint of an MPI rank (run in libcr's callback thread, every rank at once):
//   1. collectives are held; the ranks agree, per communicator, on how many collectives every member
//      will have entered at the cut (the largest count of any member), and the ones behind catch up;
//   2. all point-to-point traffic is held; the ranks exchange how many messages each sent to each,
//      and every message still in flight is received into the drain buffer;
// after which no message is in the network and no thread is inside the MPI library: the image can be
// written (and after a restart, the lower half started afresh). Throws on a lower-half failure.
#pragma once

namespace crmpi {

void quiesce();

}  // namespace crmpi
