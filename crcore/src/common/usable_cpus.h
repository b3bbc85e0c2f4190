// How many CPUs this process may run on: its affinity mask, which a launcher (mpirun --bind-to, Slurm,
// taskset) narrows. The engine sizes its helper threads by it: compression workers, the hashing
// thread, the payload checks, the restart stage's second page reader.
#pragma once

#include <sched.h>

namespace crcore {

// The CPUs in this process's affinity mask, at least 1 (1 when that cannot be read). Normal context.
inline int usable_cpus() {
  cpu_set_t cpus;
  return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1 ? CPU_COUNT(&cpus) : 1;
}

}  // namespace crcore
