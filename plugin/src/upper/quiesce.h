// Phase 1 of a checkpoint of an MPI rank (run in libcr's callback thread, every rank at once), its
// steps separated by the fences of `phases` (phases.h):
//   entered:  every rank is in its checkpoint; collectives are held; each hands over its
//             communicators' counts of entered collectives;
//   cut:      per communicator the target is the largest count of any member; the ranks behind have
//             caught up (no rank is inside a collective another has not entered);
//   counted:  every call is held and no application thread is inside the lower half; each rank hands
//             over how many messages it sent to each rank;
//   quiesced: every message in flight has been received into the drain buffer and every send has
//             completed: the image can be written (and after a restart, the lower half started afresh).
// Each wait is bounded by the request's deadline. Returns false with why when this rank or another one
// could not take part in time: then nothing is lost (drained messages stay in the drain buffer) and the
// caller opens the gate. Throws (or aborts the job) on a lower-half failure.
#pragma once

#include <string>

namespace crmpi {

class Phases;

bool quiesce(Phases& phases, std::string& why);

}  // namespace crmpi
