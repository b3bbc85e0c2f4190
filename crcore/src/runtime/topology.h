// The machine's topology as hwloc XML, for the image's Topology record (format version 3): read
// once per process in normal context (hwloc allocates), before any thread is stopped.
#pragma once

#include <cstddef>

namespace crcore::runtime {

// Loads and exports the topology the first time (a no-op without hwloc, or when it fails).
void load_topology_once();

// The XML, or nullptr (no hwloc, or it failed). Valid for the life of the process.
const char* topology_xml(size_t* length);

}  // namespace crcore::runtime
