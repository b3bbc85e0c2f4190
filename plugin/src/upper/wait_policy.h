// How a waiting call of the application spends the time between two tests of its requests: the way
// Open MPI's own blocking calls would in this job. Open MPI 4.1 spins in opal_progress() unless its
// mpi_yield_when_idle parameter is on (then it calls sched_yield when a progress pass found nothing),
// which it turns on by itself when the node is oversubscribed (more local ranks than slots); the layer
// reads the lower half's decision (opal_progress_yield_when_idle) after its MPI_Init. Without that symbol
// (another library) it follows OMPI_MCA_mpi_yield_when_idle, or yields when the node runs more ranks of
// the job than CPUs. CRCORE_MPI_WAIT=yield or spin overrides the choice (for measurements).
#pragma once

#include <atomic>
#include <string>

namespace crmpi {

struct WaitPolicy {
  bool yield = true;   // give the processor away after a few tests
  std::string reason;  // why, for the debug output
};

// Decided after the lower half's MPI_Init (at every start of the lower half: a restarted job may run
// on other nodes, with other counts). Not async-signal-safe.
WaitPolicy decide_wait_policy();

// The policy in force (set by start_lower_half, read on every wait).
void set_wait_policy(const WaitPolicy& policy);
extern std::atomic<bool> g_yield_when_idle;
inline bool yield_when_idle() { return g_yield_when_idle.load(std::memory_order_relaxed); }

}  // namespace crmpi
