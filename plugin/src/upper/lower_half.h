// Loading the lower half: the real Open MPI in a link-map namespace of its own (dlmopen), reporting
// what it creates to libcr (crcore_ext.h) so checkpoints leave it out.
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "predefined.h"

namespace crmpi {

// Loads libcrmpi_lower.so (and with it the real libmpi) into a new namespace and fills `lower`.
// Throws std::runtime_error with a clear message on failure.
void load_lower_half();

// The lower half's handle for a predefined MPI object of the application (MPI_INT, MPI_SUM,
// MPI_COMM_WORLD...): from the table (predefined.h), else by the symbol at that address; nullptr if
// `upper` is not a predefined object.
void* lower_predefined_slow(const void* upper);
inline void* lower_predefined(const void* upper) {
  void* found = g_predefined.lower_of(upper);
  return found != nullptr ? found : lower_predefined_slow(upper);
}
// The reverse: the application's predefined object for a lower-half one; nullptr if none.
inline void* upper_predefined(const void* lower) { return g_predefined.upper_of(lower); }

// In a restored process, before load_lower_half(): makes the dynamic linker forget the lower half of
// the process that was checkpointed (its namespace's memory was not saved). Throws on an unknown
// dynamic-linker layout.
void forget_old_lower_half();

// A thread's first call into a lower half it did not load itself (after a restart the callback
// thread loads it): the lower libc's per-thread locale pointers (ctype tables, in its TLS) are set
// only for the loading thread and for threads it creates. Cheap when nothing is to do.
extern std::atomic<uint64_t> g_lower_generation;  // lower halves loaded so far
// Which one this thread is prepared for (libcrmpi is preloaded: initial-exec TLS, no lookup; constinit:
// no TLS wrapper call).
extern constinit thread_local uint64_t t_lower_prepared __attribute__((tls_model("initial-exec")));
void prepare_thread_for_lower_half_slow();
inline void prepare_thread_for_lower_half() {
  if (t_lower_prepared != g_lower_generation.load(std::memory_order_acquire)) [[unlikely]] {
    prepare_thread_for_lower_half_slow();
  }
}

// Reports the lower half's loaded objects to libcr again (after MPI_Init loaded its components).
void refresh_lower_objects();

// A library the lower half has loaded (by soname, e.g. "libpmix.so.2"), or nullptr: a handle in the
// lower half's namespace, for dlsym. Loads nothing.
void* lower_library(const char* soname);
// A symbol of the lower half's own objects (the shim and its dependencies: the real libmpi, the lower
// libc), or nullptr.
void* lower_symbol(const char* name);

}  // namespace crmpi
