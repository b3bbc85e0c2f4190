// The resource records a restarted process's runtime applies again itself, after the restart stage:
// NUMA policies of ranges (region_policy.h) and SysV shared memory attachments (sysv_shm_attach.h),
// with the image's topology. They are read from the image the process came from
// (RestartBlock.image_path) in one walk of its records. Normal context.
#pragma once

#include <string>
#include <vector>

#include "image/format.h"

namespace crcore::runtime {

struct RestartResources {
  std::vector<image::RegionMemPolicyResource> region_policies;
  std::vector<image::SysvShmResource> sysv_segments;
  std::string topology;  // the image's hwloc XML, empty if it has none
};

// Async-signal-safe (syscalls only, no allocation): whether the image at `path` holds a resource the
// runtime applies itself (a RegionMemPolicy or SysvShm record); true also when it cannot tell. The
// manager asks before its other threads run again: one of them may have been captured holding a
// malloc lock (inside malloc, or inside fork, which takes them all), and the full walk allocates.
bool image_has_runtime_resources(const char* path);

// Walks the image at `path` (cr_restart checked it whole a moment ago: its records are walked, not
// checked again; resource records are never compressed). False, with errno set where a call failed,
// when it cannot be opened or walked to its end record.
bool read_restart_resources(const char* path, RestartResources& out);

}  // namespace crcore::runtime
