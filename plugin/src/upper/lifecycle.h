// The layer's life: MPI_Init loads and starts the lower half; a checkpoint quiesces it (quiesce.cpp);
// a restart replaces it with a fresh one and rebuilds every object (rebuild.cpp).
#pragma once

#include <mpi.h>

#include <mutex>

namespace crmpi {

struct Life {
  std::mutex starting;  // held while MPI_Init starts the lower half: a checkpoint waits for it
  bool initialized = false;
  bool finalized = false;
  int thread_level = 0;        // what the application was given
  int lower_thread_level = 0;  // what the lower half was initialised at (lower_thread_level())
};

Life& life();

// The thread level the lower half is initialised at. Open MPI 4.1 turns its internal locks and atomics
// on (opal_using_threads()) at any level above MPI_THREAD_SINGLE, so the layer asks for SINGLE when it
// serialises every call into the lower half itself: the application is given at most
// MPI_THREAD_SERIALIZED, and the checkpoint's own MPI calls (the drain, a restart's rebuild) run only
// while the gate holds every application thread outside the lower half; the phase fences go through
// PMIx (phases.h). With CRCORE_MPI_COORDINATION=mpi the fences are MPI collectives on the checkpoint
// thread while application threads still communicate: MPI_THREAD_MULTIPLE. CRCORE_MPI_LOWER_THREAD_LEVEL
// (single, serialized, multiple) overrides the choice, for measurements.
int lower_thread_level();

// Loads the lower half, runs its MPI_Init_thread, and makes MPI_COMM_WORLD/SELF (and, in a
// MULTIPLE lower half, the world shadow).
void start_lower_half(int* argc, char*** argv);

// The world shadow: a private duplicate of MPI_COMM_WORLD for the phase fences when they are MPI
// collectives. Made when first needed, which is at MPI_Init in a MULTIPLE lower half (the fences run
// while the application communicates) and otherwise at a restart's "resumed" fence, the only MPI fence
// of a SINGLE lower half, with every application thread held and every rank there. Not made at all
// when the fences go through PMIx: Open MPI 4.1 gives a new communicator its id by a nonblocking
// allreduce on the parent, after which libnbc's progress function runs in every opal_progress of the
// job (5.6% of a plain ping-pong's samples), a cost the application itself would not have paid.
MPI_Comm world_shadow();

// After a restart: the new job's environment (OMPI_*, PMIX_*...) replaces the old one.
void adopt_new_job_environment();

// After a restart with MPI initialised: a fresh lower half, then every object made again.
void rebuild_after_restart();

// Registers the libcr callback (at library load).
void register_checkpoint_callback();

}  // namespace crmpi
