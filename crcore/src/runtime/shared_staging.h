// Shared memory for the copy-on-write writer. RESTRICTED CODE (threads stopped): see thread_stop.cpp.
//
// The writer is a fork: private memory is frozen in its copy, but a MAP_SHARED mapping (anonymous
// shared memory, a mapped memfd or deleted file, SysV shm: RegionKind::AnonShared) is the same pages
// in both processes, and the program goes on changing them while the writer reads. So, while the
// threads are still stopped, the pages such a region would save (present or swapped) are copied
// into one private staging mapping, at the region's offset there; the region's source_delta points
// the writer's scan and write at that copy (memory_capture.cpp, image_dump.cpp). Untouched pages
// stay untouched in the staging, so a sparse segment costs what it holds. The pause grows with the
// shared memory's resident size (a copy into fresh memory: ~1 GB/s on these machines).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/capture_arena.h"
#include "runtime/memory_capture.h"

namespace crcore::runtime {

struct SharedStaging {
  void* base = nullptr;  // nullptr: no shared region saves pages
  size_t size = 0;
  uint64_t bytes_copied = 0;
};

// Copies the shared regions' pages into a new staging mapping and sets their source_delta.
// 0 or -errno with why (then every source_delta is 0 again and nothing stays mapped: the caller
// writes in place instead).
int stage_shared_regions(CaptureArena& arena, MemoryCapture& memory, SharedStaging& out, char* why, size_t why_size);

// Unmaps the staging (in the process that no longer needs it). The regions' source_delta stay set
// for the copy that still has the staging (the writer); call forget_shared_staging before writing
// from the regions themselves.
void release_shared_staging(SharedStaging& staging);
void forget_shared_staging(CaptureArena& arena, MemoryCapture& memory);

}  // namespace crcore::runtime
