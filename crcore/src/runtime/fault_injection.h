// Fault injection for the reliability tests: the process kills itself (SIGKILL) or fails a write
// at a named point of a checkpoint, so that a test can place a fault exactly where it wants it,
// without timed signals.
//
// Armed only by the environment variable CRCORE_FAULT=NAME[@N] in the checkpointed process, read
// once when the runtime starts (see docs/reliability.md for the names): the fault strikes during
// the process's Nth checkpoint (default 1), so that a test can take a good image first. Unset,
// every fault point costs one load of a global and one comparison.
#pragma once

#include <cstdint>

namespace crcore::runtime {

enum class FaultPoint : uint32_t {
  None = 0,
  WriterBeforeRecords,  // in the copy-on-write writer: nothing written yet
  WriterMidPages,       // in the writer: about half of the Pages records written
  WriterBeforeFsync,    // in the writer: every record written, not yet flushed
  WriterAfterFsync,     // in the writer: flushed, its result not yet reported
  WriteEio,             // the image write fails with EIO (for a machine without an error device)
  // The checkpointed process itself is killed (appended: tests/e2e/fault_injection.sh, tests/mpi/rank_killed.sh).
  TargetPhase1,      // as phase 1 begins: its callbacks (an MPI rank's drain) are about to run
  TargetPhase2,      // in phase 2: every thread stopped, nothing written yet
  TargetAfterWrite,  // the image written in place (--no-cow, --kill), or its copy-on-write writer started;
                     // nothing flushed, reported or renamed yet
};

// Reads CRCORE_FAULT (runtime start only: not async-signal-safe). An unknown name is reported on
// stderr and ignored. With CRCORE_FAULT_RANK=R as well, only the MPI rank R arms it (OMPI_COMM_WORLD_RANK
// or PMIX_RANK): a job's ranks all get the same environment.
void load_fault_injection();

extern FaultPoint g_fault_point;  // None unless armed and this is the chosen checkpoint

// A checkpoint begins (manager thread): arms the fault for the chosen one, disarms it otherwise.
void fault_next_checkpoint();

// Async-signal-safe: SIGKILLs the calling process when the armed fault is `point`.
void fault_kill_here(FaultPoint point);

inline bool fault_armed(FaultPoint point) { return g_fault_point == point; }

inline void fault_point(FaultPoint point) {
  if (g_fault_point == point) [[unlikely]] {
    fault_kill_here(point);
  }
}

}  // namespace crcore::runtime
