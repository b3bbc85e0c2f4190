// find_job_ranks (see job_ranks.h).
#include "proc/job_ranks.h"

#include <algorithm>
#include <map>

#include "proc/proc_info.h"

namespace crcore::mpi {
namespace {

int parse_int(const std::string& text, int fallback) {
  try {
    size_t used = 0;
    int value = std::stoi(text, &used);
    return used == text.size() ? value : fallback;
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

Job find_job_ranks(int mpirun_pid) {
  std::string who = "process " + std::to_string(mpirun_pid);
  if (!process_alive(mpirun_pid)) {
    throw std::runtime_error("no process " + std::to_string(mpirun_pid) + " (give the pid of the job's mpirun)");
  }
  Job job;
  std::map<int, JobRank> by_rank;
  for (int pid : descendants(mpirun_pid)) {
    auto marker = proc_env(pid, "CRCORE_MPI");
    if (!marker || *marker != "1" || !process_alive(pid)) {
      continue;
    }
    auto rank_text = proc_env(pid, "OMPI_COMM_WORLD_RANK");
    auto size_text = proc_env(pid, "OMPI_COMM_WORLD_SIZE");
    int rank = rank_text ? parse_int(*rank_text, -1) : -1;
    int size = size_text ? parse_int(*size_text, -1) : -1;
    if (rank < 0 || size < 1 || rank >= size) {
      throw std::runtime_error("process " + std::to_string(pid) + " under " + who +
                               " has CRCORE_MPI=1 but no valid OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE: "
                               "was it started by mpirun?");
    }
    if (job.size != 0 && size != job.size) {
      throw std::runtime_error("the ranks under " + who + " disagree on the job size (" + std::to_string(job.size) +
                               " and " + std::to_string(size) + ")");
    }
    job.size = size;
    JobRank entry{rank, pid, proc_strings(pid, "cmdline")};
    auto [it, added] = by_rank.emplace(rank, entry);
    if (!added) {
      throw std::runtime_error("two processes under " + who + " are rank " + std::to_string(rank) + " (" +
                               std::to_string(it->second.pid) + " and " + std::to_string(pid) + ")");
    }
  }
  if (by_rank.empty()) {
    throw std::runtime_error("no checkpointable ranks under " + who +
                             ": start the job with `mpirun -am ft-enable-cr ...` (crcore's front end, see "
                             "docs/mpi.md), and give the pid of that mpirun");
  }
  if (static_cast<int>(by_rank.size()) != job.size) {
    std::string missing;
    for (int r = 0; r < job.size; ++r) {
      if (by_rank.count(r) == 0) {
        missing += (missing.empty() ? "" : ",") + std::to_string(r);
      }
    }
    throw std::runtime_error("the job under " + who + " has " + std::to_string(job.size) + " ranks but only " +
                             std::to_string(by_rank.size()) + " run on this host (missing: " + missing +
                             "); jobs spanning several hosts cannot be checkpointed by this version, and a job "
                             "still starting or ending cannot be checkpointed");
  }
  for (auto& [rank, entry] : by_rank) {
    job.ranks.push_back(entry);
  }
  return job;
}

}  // namespace crcore::mpi
