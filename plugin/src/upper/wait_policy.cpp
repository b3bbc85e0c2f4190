#include "wait_policy.h"

#include <sched.h>

#include <strings.h>
#include <unistd.h>

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
  // What the lower half's own progress loop does (opal_progress_set_yield_when_idle at its MPI_Init): the
  // mpi_yield_when_idle parameter, which Open MPI 4.1 turns on by itself on an oversubscribed node.
  if (const auto* lib_yields = static_cast<const bool*>(lower_symbol("opal_progress_yield_when_idle"));
      lib_yields != nullptr) {
    policy.yield = *lib_yields;
    policy.reason = std::string("as Open MPI: it ") + (*lib_yields ? "yields" : "spins");
    return policy;
  }
  if (const char* value = getenv("OMPI_MCA_mpi_yield_when_idle"); value != nullptr && *value != '\0') {
    policy.yield = mca_true(value);
    policy.reason = std::string("OMPI_MCA_mpi_yield_when_idle=") + value;
    return policy;
  }
  // Another library: yield when this node runs more ranks than CPUs to run them. A rank bound to one CPU
  // is taken as bound by its launcher, one CPU each: the node's online CPUs count then.
  cpu_set_t cpus;
  long usable = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 0;
  if (usable == 1) {
    usable = sysconf(_SC_NPROCESSORS_ONLN);
  }
  long ranks = local_ranks();
  policy.yield = usable <= 0 || ranks <= 0 || ranks > usable;
  policy.reason = std::to_string(ranks) + " ranks on this node, " + std::to_string(usable) + " CPUs";
  return policy;
}

void set_wait_policy(const WaitPolicy& policy) { g_yield_when_idle.store(policy.yield, std::memory_order_relaxed); }

}  // namespace crmpi
