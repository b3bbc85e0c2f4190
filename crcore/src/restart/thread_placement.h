// Where each restored thread runs: its CPU affinity and NUMA memory policy from the image's
// Affinity and MemPolicy records, mapped with hwloc from the topology the image recorded onto
// this machine's (cr_restart --no-affinity skips all of it).
#pragma once

#include <string>
#include <vector>

#include "image/image.h"
#include "stage/stage_args.h"

namespace crcore::restart {

// One StageThreadPolicy per thread of `threads` (in that order). Says on stderr how a different
// topology was mapped (unless quiet); never fails: a thread with no usable mask keeps cr_restart's.
std::vector<stage::StageThreadPolicy> place_threads(const image::Image& image,
                                                    const std::vector<image::ThreadRecord>& threads, bool quiet);

// A one-paragraph description of a topology given as hwloc XML ("1 package, 2 cores, 2 PUs, 1
// NUMA node"), or why it cannot be read; for cr_info.
std::string describe_topology(const std::string& xml);

}  // namespace crcore::restart
