// Thread placement at restart (see thread_placement.h).
#include "restart/thread_placement.h"

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef CRCORE_WITH_HWLOC
#include <hwloc.h>
#endif

namespace crcore::restart {
namespace {

bool bit(const uint64_t* mask, unsigned i) { return (mask[i / 64] >> (i % 64)) & 1u; }
void set_bit(uint64_t* mask, unsigned i) { mask[i / 64] |= uint64_t{1} << (i % 64); }
constexpr unsigned kBits = 16 * 64;

const image::ResourceEntry* find(const image::Image& image, image::ResourceType type, int tid) {
  for (const auto& e : image.resources) {
    if (e.header.type == static_cast<uint32_t>(type) && e.header.tid == tid) {
      return &e;
    }
  }
  return nullptr;
}

#ifdef CRCORE_WITH_HWLOC
// hwloc's plugins, none of which a restart needs: it compares packages, cores, PUs and NUMA nodes, and
// reads the recorded XML with hwloc's own parser, which reads every XML hwloc writes. Loading them
// (libxml2 with ICU, OpenCL, X11 for GL, libpciaccess) was about half of cr_restart's fixed cost.
constexpr const char* kUnneededPlugins =
    "hwloc_xml_libxml,hwloc_pci,hwloc_opencl,hwloc_cuda,hwloc_nvml,hwloc_rsmi,hwloc_levelzero,hwloc_gl";

// While it lives, hwloc loads none of kUnneededPlugins (HWLOC_PLUGINS_BLACKLIST, read when the first
// topology of the process is initialised); the environment is as it was afterwards, so the restored
// process's crcore_restart_environment() does not see it. cr_restart has one thread here.
class WithoutPlugins {
 public:
  WithoutPlugins() {
    const char* old = getenv(kName);
    had_ = old != nullptr;
    old_ = had_ ? old : "";
    setenv(kName, (old_.empty() ? std::string() : old_ + ",").append(kUnneededPlugins).c_str(), 1);
  }
  ~WithoutPlugins() {
    if (had_) {
      setenv(kName, old_.c_str(), 1);
    } else {
      unsetenv(kName);
    }
  }
  WithoutPlugins(const WithoutPlugins&) = delete;
  WithoutPlugins& operator=(const WithoutPlugins&) = delete;

 private:
  static constexpr const char* kName = "HWLOC_PLUGINS_BLACKLIST";
  bool had_ = false;
  std::string old_;
};

struct Topology {
  hwloc_topology_t t = nullptr;
  explicit Topology(const std::string* xml) {
    if (hwloc_topology_init(&t) != 0) {
      t = nullptr;
      return;
    }
    if (xml == nullptr) {
      hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_NONE);  // no PCI or OS devices: not compared
    }
    if ((xml != nullptr && hwloc_topology_set_xmlbuffer(t, xml->data(), static_cast<int>(xml->size()) + 1) != 0) ||
        hwloc_topology_load(t) != 0) {
      hwloc_topology_destroy(t);
      t = nullptr;
    }
  }
  ~Topology() {
    if (t != nullptr) {
      hwloc_topology_destroy(t);
    }
  }
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  int count(hwloc_obj_type_t type) const { return t == nullptr ? 0 : hwloc_get_nbobjs_by_type(t, type); }
};

std::string shape(const Topology& t) {
  char buf[160];
  snprintf(buf, sizeof buf, "%d package(s), %d core(s), %d PU(s), %d NUMA node(s)", t.count(HWLOC_OBJ_PACKAGE),
           t.count(HWLOC_OBJ_CORE), t.count(HWLOC_OBJ_PU), t.count(HWLOC_OBJ_NUMANODE));
  return buf;
}

// Maps each set bit (an OS index of `type` in `from`) to the object of the same logical index
// (modulo the count) in `to`.
void map_mask(const Topology& from, const Topology& to, hwloc_obj_type_t type, const uint64_t* in, uint64_t* out) {
  int n_from = from.count(type);
  int n_to = to.count(type);
  bool all = n_from > 0;
  for (int i = 0; i < n_from; ++i) {
    hwloc_obj_t o = hwloc_get_obj_by_type(from.t, type, static_cast<unsigned>(i));
    all = all && o->os_index < kBits && bit(in, o->os_index);
  }
  for (unsigned i = 0; i < kBits; ++i) {
    if (!bit(in, i)) {
      continue;
    }
    hwloc_obj_t o = nullptr;
    for (int k = 0; k < n_from && o == nullptr; ++k) {
      hwloc_obj_t c = hwloc_get_obj_by_type(from.t, type, static_cast<unsigned>(k));
      if (c->os_index == i) {
        o = c;
      }
    }
    if (o == nullptr || n_to == 0) {
      continue;
    }
    hwloc_obj_t target = hwloc_get_obj_by_type(to.t, type, o->logical_index % static_cast<unsigned>(n_to));
    if (target != nullptr && target->os_index < kBits) {
      set_bit(out, target->os_index);
    }
  }
  if (all) {  // everything there: everything here
    for (int k = 0; k < n_to; ++k) {
      hwloc_obj_t c = hwloc_get_obj_by_type(to.t, type, static_cast<unsigned>(k));
      if (c->os_index < kBits) {
        set_bit(out, c->os_index);
      }
    }
  }
}
#endif

}  // namespace

std::vector<stage::StageThreadPolicy> place_threads(const image::Image& image,
                                                    const std::vector<image::ThreadRecord>& threads, bool quiet) {
  std::vector<stage::StageThreadPolicy> out(threads.size());
  uint64_t allowed[16] = {0};
  if (sched_getaffinity(0, sizeof allowed, reinterpret_cast<cpu_set_t*>(allowed)) != 0) {
    memset(allowed, 0xff, sizeof allowed);
  }
#ifdef CRCORE_WITH_HWLOC
  const image::ResourceEntry* recorded = find(image, image::ResourceType::Topology, 0);
  std::string xml = recorded != nullptr ? std::string(recorded->text()) : std::string();
  WithoutPlugins fast;  // before the first topology: hwloc reads it then
  Topology then(recorded != nullptr ? &xml : nullptr);
  Topology now(nullptr);
  bool differs = then.t != nullptr && now.t != nullptr && shape(then) != shape(now);
  if (differs && !quiet) {
    fprintf(stderr,
            "cr_restart: the image's topology (%s) differs from this machine's (%s): CPU affinity and memory "
            "policy are mapped by logical index\n",
            shape(then).c_str(), shape(now).c_str());
  }
#endif
  for (size_t i = 0; i < threads.size(); ++i) {
    stage::StageThreadPolicy& p = out[i];
    memset(&p, 0, sizeof p);
    p.mempolicy_mode = -1;
    if (const auto* a = find(image, image::ResourceType::Affinity, threads[i].tid)) {
      uint64_t mask[16] = {0};
      memcpy(mask, a->bytes.data(), std::min(sizeof mask, a->bytes.size()));
#ifdef CRCORE_WITH_HWLOC
      if (differs) {
        uint64_t mapped[16] = {0};
        map_mask(then, now, HWLOC_OBJ_PU, mask, mapped);
        memcpy(mask, mapped, sizeof mask);
      }
#endif
      bool any = false;
      for (int w = 0; w < 16; ++w) {
        p.cpus[w] = mask[w] & allowed[w];
        any = any || p.cpus[w] != 0;
      }
      if (!any) {  // none of its CPUs is here: wherever cr_restart may run
        memcpy(p.cpus, allowed, sizeof p.cpus);
      }
      p.has_cpus = 1;
    }
    if (const auto* m = find(image, image::ResourceType::MemPolicy, threads[i].tid)) {
      image::MemPolicyResource policy;
      memcpy(&policy, m->bytes.data(), sizeof policy);
      p.mempolicy_mode = policy.mode;
      memcpy(p.nodes, policy.nodes, sizeof p.nodes);
#ifdef CRCORE_WITH_HWLOC
      if (differs) {
        memset(p.nodes, 0, sizeof p.nodes);
        map_mask(then, now, HWLOC_OBJ_NUMANODE, policy.nodes, p.nodes);
      }
#endif
    }
  }
  return out;
}

std::string describe_topology(const std::string& xml) {
#ifdef CRCORE_WITH_HWLOC
  Topology t(&xml);
  if (t.t == nullptr) {
    return "unreadable hwloc XML";
  }
  std::string s = shape(t);
  hwloc_obj_t root = hwloc_get_root_obj(t.t);
  if (const char* model = hwloc_obj_get_info_by_name(hwloc_get_obj_by_type(t.t, HWLOC_OBJ_PACKAGE, 0) != nullptr
                                                         ? hwloc_get_obj_by_type(t.t, HWLOC_OBJ_PACKAGE, 0)
                                                         : root,
                                                     "CPUModel")) {
    s += ", ";
    s += model;
  }
  return s;
#else
  return "recorded (" + std::to_string(xml.size()) + " bytes of hwloc XML); this crcore was built without hwloc";
#endif
}

}  // namespace crcore::restart
