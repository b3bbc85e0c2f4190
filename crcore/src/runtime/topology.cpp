// The machine's topology as hwloc XML (see topology.h).
#include "runtime/topology.h"

#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
#include <hwloc.h>
#endif

#include <cstdlib>
#include <cstring>

namespace crcore::runtime {
namespace {
char* g_xml = nullptr;
size_t g_length = 0;
bool g_tried = false;
}  // namespace

void load_topology_once() {
  if (g_tried) {
    return;
  }
  g_tried = true;
#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
  hwloc_topology_t topology;
  if (hwloc_topology_init(&topology) != 0) {
    return;
  }
  char* xml = nullptr;
  int length = 0;
  if (hwloc_topology_load(topology) == 0 && hwloc_topology_export_xmlbuffer(topology, &xml, &length, 0) == 0 &&
      length > 0) {
    g_xml = static_cast<char*>(malloc(static_cast<size_t>(length)));
    if (g_xml != nullptr) {
      memcpy(g_xml, xml, static_cast<size_t>(length));
      g_length = static_cast<size_t>(length);
      while (g_length > 0 && g_xml[g_length - 1] == '\0') {
        --g_length;
      }
    }
    hwloc_free_xmlbuffer(topology, xml);
  }
  hwloc_topology_destroy(topology);
#endif
}

const char* topology_xml(size_t* length) {
  *length = g_length;
  return g_xml;
}

}  // namespace crcore::runtime
