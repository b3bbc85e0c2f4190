#include "wait_policy.h"

#include <sched.h>

#include <strings.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "lower_half.h"

namespace crmpi {

std::atomic<bool> g_yield_when_idle{true};

namespace {

// An MCA boolean as Open MPI reads it: a number (non-zero is true) or true/yes/enabled.
bool mca_true(const char* text) {
  char* end = nullptr;
  long number = strtol(text, &end, 10);
  if (end != text && *end == '\0') {
    return number != 0;
  }
  return strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0 || strcasecmp(text, "enabled") == 0 ||
         strcasecmp(text, "t") == 0 || strcasecmp(text, "y") == 0;
}

// Ranks of the job on this node, from the launcher's variables; 0 when none says.
long local_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "MPI_LOCALNRANKS"}) {
    if (const char* text = getenv(name); text != nullptr) {
      char* end = nullptr;
      long value = strtol(text, &end, 10);
      if (end != text && value > 0) {
        return value;
      }
    }
  }
  return 0;
}

}  // namespace

WaitPolicy decide_wait_policy() {
  WaitPolicy policy;
  if (const char* forced = getenv("CRCORE_MPI_WAIT"); forced != nullptr && *forced != '\0') {
    if (strcmp(forced, "yield") == 0 || strcmp(forced, "spin") == 0) {
      policy.yield = forced[0] == 'y';
      policy.reason = std::string("CRCORE_MPI_WAIT=") + forced;
      return policy;
    }
    fprintf(stderr, "crcore MPI layer: CRCORE_MPI_WAIT='%s' is neither yield nor spin: ignored\n", forced);
  }
  std::string library;
  // What the lower half's own progress loop does (opal_progress_set_yield_when_idle at its MPI_Init):
  // the mpi_yield_when_idle parameter (from the environment, an MCA file or mpirun --mca).
  if (const auto* lib_yields = static_cast<const bool*>(lower_symbol("opal_progress_yield_when_idle"));
      lib_yields != nullptr) {
    policy.yield = *lib_yields;
    library = std::string("Open MPI ") + (*lib_yields ? "yields" : "spins");
  } else if (const char* value = getenv("OMPI_MCA_mpi_yield_when_idle"); value != nullptr && *value != '\0') {
    policy.yield = mca_true(value);
    library = std::string("OMPI_MCA_mpi_yield_when_idle=") + value;
  } else {
    policy.yield = false;
    library = "the library's choice unknown";
  }
  // More ranks here than CPUs to run them: a spinning rank would hold back the one it waits for (and a
  // checkpoint's threads), so the layer yields even where the library would spin.
  cpu_set_t cpus;
  long usable = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 0;
  long ranks = local_ranks();
  bool oversubscribed = usable > 0 && ranks > usable;
  policy.yield = policy.yield || oversubscribed;
  policy.reason = library + "; " + (ranks > 0 ? std::to_string(ranks) : std::string("?")) + " ranks on this node, " +
                  std::to_string(usable) + " usable CPUs";
  return policy;
}

void set_wait_policy(const WaitPolicy& policy) { g_yield_when_idle.store(policy.yield, std::memory_order_relaxed); }

}  // namespace crmpi
