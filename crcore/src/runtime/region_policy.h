// The NUMA policy mbind gave ranges of the address space (image RegionMemPolicy resources, format
// version 4). At a checkpoint every mapping whose policy is not the default (get_mempolicy with
// MPOL_F_ADDR) is recorded in the image. Once a restarted process is back (its mappings made by the
// stage), its runtime reads those records from the image it came from (RestartBlock.image_path)
// and re-applies each policy (mbind with MPOL_MF_MOVE): its nodes mapped with hwloc from the image's
// topology onto this machine's when their NUMA nodes differ (by logical index, as cr_restart maps
// the threads' policies), then limited to the nodes allowed here.
#pragma once

#include <cstddef>

#include "runtime/capture_arena.h"
#include "runtime/resource_capture.h"
#include "runtime/restart_resources.h"

namespace crcore::runtime {

// RESTRICTED CODE (threads stopped): reads /proc/self/maps into the free end of the data pool.
// 0, -ENOTSUP with why (more ranges than the table holds), or -ENOBUFS.
int capture_region_policies(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size);

// After a restart (normal context): mbind every range the image recorded again (its records read
// by restart_resources.h); a range that cannot be given its policy is said on stderr.
void reapply_region_policies(const RestartResources& image);

}  // namespace crcore::runtime
