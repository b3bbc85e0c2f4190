// find_job_ranks: the checkpointable ranks of a job started by mpirun (-am ft-enable-cr) on this host.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace crcore::mpi {

struct JobRank {
  int rank = 0;
  int pid = 0;
  std::vector<std::string> cmdline;
};

struct Job {
  int size = 0;
  std::vector<JobRank> ranks;  // sorted by rank, exactly 0..size-1
};

// The descendants of mpirun_pid whose environment has CRCORE_MPI=1, numbered by OMPI_COMM_WORLD_RANK.
// Throws std::runtime_error with a message saying what is wrong (no such process, no ranks, ranks
// missing, e.g. on other hosts, or inconsistent).
Job find_job_ranks(int mpirun_pid);

}  // namespace crcore::mpi
