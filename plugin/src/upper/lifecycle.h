// The layer's life: MPI_Init loads and starts the lower half; a checkpoint quiesces it (quiesce.cpp);
// a restart replaces it with a fresh one and rebuilds every object (rebuild.cpp).
#pragma once

#include <mutex>

namespace crmpi {

struct Life {
  std::mutex starting;  // held while MPI_Init starts the lower half: a checkpoint waits for it
  bool initialized = false;
  bool finalized = false;
  int thread_level = 0;  // what the application was given
};

Life& life();

// Loads the lower half, runs its MPI_Init_thread, and makes MPI_COMM_WORLD/SELF and the world shadow.
void start_lower_half(int* argc, char*** argv);

// After a restart: the new job's environment (OMPI_*, PMIX_*...) replaces the old one.
void adopt_new_job_environment();

// After a restart with MPI initialised: a fresh lower half, then every object made again.
void rebuild_after_restart();

// Registers the libcr callback (at library load).
void register_checkpoint_callback();

}  // namespace crmpi
