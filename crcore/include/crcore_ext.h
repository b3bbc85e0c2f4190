/* crcore extensions to the BLCR API, for layers built on libcr (the MPI layer, ...).
 *
 * Parts of a process that must not be saved: memory, threads and descriptors that belong to a library
 * which is started afresh after a restart (the MPI layer's lower half: the real MPI library, its
 * network connections and progress threads). A checkpoint leaves them out of the image; the image
 * stays restartable only if nothing saved still points into them after the restart.
 *
 * All functions are thread-safe and async-signal-safe. Plain C. */
#ifndef CRCORE_EXT_H
#define CRCORE_EXT_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRCORE_EXT_VERSION 1

/* Leaves [start, start + length) out of every later image (page-aligned outward). 0, or -ENOSPC when
 * the table is full (the range is then saved as usual). */
int crcore_exclude_memory(const void* start, size_t length);
/* Saves [start, start + length) again (e.g. after munmap). Splits excluded ranges as needed. */
int crcore_include_memory(const void* start, size_t length);

/* Leaves the thread out (it is neither stopped nor saved; it keeps running during a checkpoint).
 * Forgotten automatically when the thread ends (its start time is recorded with it). */
int crcore_exclude_thread(pid_t tid);

/* Leaves descriptor fd out while it names the same open file (device and inode are recorded). */
int crcore_exclude_fd(int fd);
int crcore_include_fd(int fd);

/* In a restored process: the environment cr_restart was started with (NUL-separated "NAME=value"
 * entries, length bytes in all), or NULL in a process that was not restarted or when cr_restart could
 * not pass it. Valid until the next restart. */
const char* crcore_restart_environment(size_t* length);

/* Inside a checkpoint callback: the CLOCK_MONOTONIC time, in nanoseconds, by which the request must be
 * done (the requester's time limit, cr_checkpoint --time), or 0 when it has none or outside a checkpoint.
 * A layer whose callback waits for others (the MPI layer's ranks) gives up at this time. */
unsigned long long crcore_checkpoint_deadline_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* CRCORE_EXT_H */
