// Loading the lower half: the real Open MPI in a link-map namespace of its own (dlmopen), reporting
// what it creates to libcr (crcore_ext.h) so checkpoints leave it out.
#pragma once

#include <mpi.h>

#include <string>

namespace crmpi {

// Loads libcrmpi_lower.so (and with it the real libmpi) into a new namespace and fills `lower`.
// Throws std::runtime_error with a clear message on failure.
void load_lower_half();

// The lower half's handle for a predefined MPI object of the application (MPI_INT, MPI_SUM,
// MPI_COMM_WORLD...), found by symbol name; nullptr if `upper` is not a predefined object.
void* lower_predefined(const void* upper);
// The reverse: the application's predefined object for a lower-half one; nullptr if none.
void* upper_predefined(const void* lower);

// In a restored process, before load_lower_half(): makes the dynamic linker forget the lower half of
// the process that was checkpointed (its namespace's memory was not saved). Throws on an unknown
// dynamic-linker layout.
void forget_old_lower_half();

// A thread's first call into a lower half it did not load itself (after a restart the callback
// thread loads it): the lower libc's per-thread locale pointers (ctype tables, in its TLS) are set
// only for the loading thread and for threads it creates. Cheap when nothing is to do.
void prepare_thread_for_lower_half();

// The address of a symbol of the lower half's namespace (the shim and its dependencies, libmpi
// included), or nullptr.
void* lower_symbol(const char* name);

// Reports the lower half's loaded objects to libcr again (after MPI_Init loaded its components).
void refresh_lower_objects();

}  // namespace crmpi
