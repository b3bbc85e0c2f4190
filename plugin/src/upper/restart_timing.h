// Where a rank's restart time goes: with CRCORE_MPI_TIMING=1 in the new job's environment, the restart
// callback stamps each phase of the rebuild (wall clock, so the launcher's stamps from other processes
// compare) and prints one line per rank on stderr once the application runs again:
//
//   crcore-mpi-timing rank=R job_ns=T0 rank_ns=T1 running_ns=T2 check=S mpirun=S launcher=S cr_restart=S
//                     environment=S ... gate_open=S per_rank=S total=S
//
// T0 is ompi-restart's start (CRCORE_MPI_TIMING_JOB_NS), T1 this rank's process start (the per-rank
// launcher's main, CRCORE_MPI_TIMING_RANK_NS), T2 the application released; the phases are seconds, each
// from the previous stamp: check (ompi-restart's snapshot check, until it execs mpirun:
// CRCORE_MPI_TIMING_MPIRUN_NS), mpirun (until this rank's process starts), launcher (until it execs
// cr_restart: CRCORE_MPI_TIMING_EXEC_NS), cr_restart (until the callback runs in the restored image), then
// the rebuild's phases. per_rank is T2 - T1, total T2 - T0 (docs/mpi.md, "Restart time"). Off by default:
// nothing is stamped or printed. CRCORE_MPI_TIMING=/absolute/path appends the lines to that file instead
// (one write per line; what bench/mpi_restart_bench.py uses, apart from the application's stderr).
#pragma once

#include <cstddef>
#include <cstdint>

namespace crmpi {

class RestartTiming {
 public:
  // Called first in the restarted rank, with the new job's environment (NUL-separated, as
  // crcore_restart_environment gives it; nullptr: timing stays off).
  void begin(const char* environment, size_t length);
  // Stamps the end of a phase (name: a string literal). No-op when off.
  void mark(const char* phase);
  // Prints the line (rank: MPI_COMM_WORLD rank). No-op when off.
  void report(int rank);

 private:
  static constexpr int kMaxPhases = 16;
  bool on_ = false;
  char to_[256] = {};  // the file the line is appended to; empty: stderr
  uint64_t job_ns_ = 0, mpirun_ns_ = 0, rank_ns_ = 0, exec_ns_ = 0;
  int count_ = 0;
  const char* names_[kMaxPhases] = {};
  uint64_t stamps_[kMaxPhases] = {};
};

RestartTiming& restart_timing();

// CLOCK_REALTIME in nanoseconds (the launcher's stamps are taken by other processes).
uint64_t wall_ns();

}  // namespace crmpi
