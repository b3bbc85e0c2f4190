// What a checkpoint leaves out of the image on request of a layer above libcr (crcore_ext.h):
// memory ranges, threads and descriptors of a lower half that is started afresh after a restart.
// Tables of fixed size behind a spin lock: every function here is async-signal-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace crcore::runtime {

struct ExcludedRange {
  uint64_t start;
  uint64_t end;
};

inline constexpr size_t kMaxExcludedRanges = 4096;
inline constexpr size_t kMaxExcludedThreads = 256;
inline constexpr size_t kMaxExcludedFds = 1024;

// Copies the excluded ranges, sorted by start and merged, into out; returns how many.
size_t excluded_ranges(ExcludedRange* out, size_t capacity);

// True if address lies in an excluded range (e.g. a signal handler of a lower half).
bool address_excluded(uint64_t address);

// True if tid was excluded and is still the same thread (same start time).
bool thread_excluded(pid_t tid);

// True if fd was excluded and still names the same file.
bool fd_excluded(int fd, uint64_t dev, uint64_t inode);

// After a restart: what was excluded did not come back (crcore_ext.h): the tables start empty.
void forget_exclusions();

// The environment cr_restart passed (crcore_restart_environment); called once after a restart with
// the memfd the stage left open (read, then closed).
void adopt_restart_environment(int fd);

}  // namespace crcore::runtime
