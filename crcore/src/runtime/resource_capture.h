// Resources a process holds beyond memory and plain descriptors (image Resource records, format
// version 3): the details of eventfd/timerfd/signalfd/epoll/inotify descriptors and of file locks
// (their /proc/self/fdinfo text), the contents of memfds and deleted files, terminal settings,
// POSIX and interval timers, prctl state, the CPU affinity of every thread. RESTRICTED CODE
// (threads stopped): syscalls and plain data only, see thread_stop.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "image/format.h"
#include "runtime/capture_arena.h"

namespace crcore::runtime {

inline constexpr uint32_t kMaxResources = 1024;

// Complete Resource payloads (ResourceHeader + bytes), each in the arena's data pool.
struct ResourceList {
  uint32_t count = 0;
  uint64_t offset[kMaxResources];
  uint64_t length[kMaxResources];
};

// Appends one resource to the data pool at data_used: the header, then `a` and `b`. 0 or -ENOBUFS.
int add_resource(CaptureArena& arena, size_t& data_used, ResourceList& list, image::ResourceType type, int fd, int tid,
                 const void* a, size_t a_length, const void* b = nullptr, size_t b_length = 0);

// Appends the text of a file (/proc/self/fdinfo/N, ...) as one resource, after `prefix`. 0,
// -ENOBUFS, or -errno of the read.
int add_file_resource(CaptureArena& arena, size_t& data_used, ResourceList& list, image::ResourceType type, int fd,
                      const char* path, const char* prefix = "");

// Appends the first `size` bytes of the file open as `fd` (pread, the offset untouched). 0 or -errno.
int add_contents_resource(CaptureArena& arena, size_t& data_used, ResourceList& list, int fd, uint64_t size);

// Before anything is stopped: -ENOTSUP (why naming the timer) if a POSIX timer notifies a thread
// (SIGEV_THREAD, SIGEV_THREAD_ID), else 0.
int refuse_thread_timers(char* why, size_t why_size);

// Fills a thread's memory policy (get_mempolicy only describes the calling thread): each thread
// calls it for itself while it parks; mode -1 if unknown.
void describe_memory_policy(image::MemPolicyResource& policy);

// Fills the calling thread's prctl state (the parent-death signal, no_new_privs and the timer
// slack belong to each thread; the image keeps the main thread's).
void describe_prctl(image::PrctlResource& p);

// The process-wide resources: POSIX timers, interval timers, SysV semaphore sets and message
// queues (sysv_ipc_capture.h), NUMA policies of ranges (region_policy.h), prctl state, the CPU
// affinity and memory policy of every parked thread and of the manager, the hwloc topology; refuses attached
// SysV shared memory, and (has_memfd: a memfd descriptor is open) shared memfd mappings.
// 0, or -ENOTSUP with why saying what cannot be restored, or -ENOBUFS.
int capture_process_resources(CaptureArena& arena, size_t& data_used, ResourceList& list, bool has_memfd, char* why,
                              size_t why_size);

}  // namespace crcore::runtime
