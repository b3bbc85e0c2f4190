// region_policy.h.
#include "runtime/region_policy.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
#include <hwloc.h>
#endif

#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

constexpr size_t kMaxRanges = 512;
constexpr unsigned long kMaxNode = sizeof(image::RegionMemPolicyResource::nodes) * 8;
constexpr int kMpolDefault = 0;
constexpr int kMpolLocal = 4;
constexpr int kMpolModeMask = 0xff;       // the MPOL_F_* flags live in the high bits
constexpr unsigned kMpolFNode = 1u << 0;  // get_mempolicy flags
constexpr unsigned kMpolFAddr = 1u << 1;
constexpr unsigned kMpolFMemsAllowed = 1u << 2;
constexpr unsigned kMpolMfMove = 1u << 1;

// Scratch of the capture: the ranges found in /proc/self/maps.
image::RegionMemPolicyResource g_ranges[kMaxRanges];
size_t g_range_count = 0;

}  // namespace

int capture_region_policies(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size) {
  (void)kMpolFNode;
  g_range_count = 0;
  char* text = arena.data + data_used;
  ssize_t n = read_file("/proc/self/maps", text, arena.data_capacity - data_used);
  if (n < 0) {
    return n == -EFBIG ? -ENOBUFS : 0;
  }
  // The ranges first (the text is overwritten by the resources after).
  for (const char* line = text; line < text + n;) {
    const char* end = static_cast<const char*>(memchr(line, '\n', static_cast<size_t>(text + n - line)));
    end = end == nullptr ? text + n : end;
    const char* p = line;
    uint64_t start = parse_number(&p, 16);
    ++p;  // '-'
    uint64_t stop = parse_number(&p, 16);
    line = end + 1;
    if (start >= image::kUserAddressLimit) {
      continue;  // [vsyscall]
    }
    image::RegionMemPolicyResource r{};
    int mode = 0;
    if (syscall(SYS_get_mempolicy, &mode, r.nodes, kMaxNode, start, kMpolFAddr) != 0 || mode == kMpolDefault) {
      continue;
    }
    if (g_range_count == kMaxRanges) {
      const char* message = "more than 512 address ranges have their own NUMA policy (mbind): not restored";
      size_t length = strlen(message) < why_size - 1 ? strlen(message) : why_size - 1;
      memcpy(why, message, length);
      why[length] = '\0';
      return -ENOTSUP;
    }
    r.start = start;
    r.end = stop;
    r.mode = mode;
    g_ranges[g_range_count++] = r;
  }
  for (size_t i = 0; i < g_range_count; ++i) {
    int rc = add_resource(arena, data_used, list, image::ResourceType::RegionMemPolicy, -1, 0, &g_ranges[i],
                          sizeof g_ranges[i]);
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

namespace {

// The NUMA nodes of the image's topology mapped onto this machine's with hwloc, as cr_restart maps
// the threads' policies (restart/thread_placement.cpp): when the two differ, each node by its
// logical index (modulo the count here); otherwise unchanged.
class NodeMap {
 public:
  explicit NodeMap(const std::string& xml) {
#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
    if (xml.empty() || hwloc_topology_init(&then_) != 0) {
      then_ = nullptr;
      return;
    }
    if (hwloc_topology_set_xmlbuffer(then_, xml.data(), static_cast<int>(xml.size()) + 1) != 0 ||
        hwloc_topology_load(then_) != 0 || hwloc_topology_init(&now_) != 0) {
      hwloc_topology_destroy(then_);
      then_ = nullptr;
      now_ = nullptr;
      return;
    }
    if (hwloc_topology_load(now_) != 0) {
      release();
      return;
    }
    int n_then = hwloc_get_nbobjs_by_type(then_, HWLOC_OBJ_NUMANODE);
    int n_now = hwloc_get_nbobjs_by_type(now_, HWLOC_OBJ_NUMANODE);
    differs_ = n_then > 0 && n_now > 0 && n_then != n_now;
    for (int i = 0; !differs_ && i < n_then; ++i) {
      differs_ = hwloc_get_obj_by_type(then_, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i))->os_index !=
                 hwloc_get_obj_by_type(now_, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i))->os_index;
    }
    if (differs_) {
      fprintf(stderr,
              "crcore: restarted process %d: the image's NUMA nodes (%d) differ from this machine's (%d): the "
              "policies of ranges are mapped by logical index\n",
              getpid(), n_then, n_now);
    }
#else
    (void)xml;
#endif
  }
  ~NodeMap() { release(); }
  NodeMap(const NodeMap&) = delete;
  NodeMap& operator=(const NodeMap&) = delete;

  void apply(uint64_t* nodes) const {
#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
    if (!differs_) {
      return;
    }
    uint64_t out[16] = {0};
    int n_then = hwloc_get_nbobjs_by_type(then_, HWLOC_OBJ_NUMANODE);
    int n_now = hwloc_get_nbobjs_by_type(now_, HWLOC_OBJ_NUMANODE);
    for (int k = 0; k < n_then; ++k) {
      hwloc_obj_t o = hwloc_get_obj_by_type(then_, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(k));
      if (o->os_index >= kMaxNode || ((nodes[o->os_index / 64] >> (o->os_index % 64)) & 1u) == 0) {
        continue;
      }
      hwloc_obj_t target =
          hwloc_get_obj_by_type(now_, HWLOC_OBJ_NUMANODE, o->logical_index % static_cast<unsigned>(n_now));
      if (target != nullptr && target->os_index < kMaxNode) {
        out[target->os_index / 64] |= uint64_t{1} << (target->os_index % 64);
      }
    }
    memcpy(nodes, out, sizeof out);
#else
    (void)nodes;
#endif
  }

 private:
  void release() {
#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
    if (then_ != nullptr) {
      hwloc_topology_destroy(then_);
    }
    if (now_ != nullptr) {
      hwloc_topology_destroy(now_);
    }
    then_ = now_ = nullptr;
#endif
  }
#ifdef CRCORE_WITH_HWLOC_TOPOLOGY
  hwloc_topology_t then_ = nullptr;
  hwloc_topology_t now_ = nullptr;
#endif
  bool differs_ = false;
};

void apply(const image::RegionMemPolicyResource& r, const uint64_t* allowed) {
  uint64_t nodes[16];
  bool any = false;
  for (int w = 0; w < 16; ++w) {
    nodes[w] = r.nodes[w] & allowed[w];
    any = any || nodes[w] != 0;
  }
  bool needs_nodes = (r.mode & kMpolModeMask) != kMpolLocal;
  if (needs_nodes && !any) {  // none of its nodes is here: any node this process may use
    memcpy(nodes, allowed, sizeof nodes);
    fprintf(stderr,
            "crcore: restarted process %d: none of the NUMA nodes of %#lx-%#lx is here: its policy uses every "
            "allowed node\n",
            getpid(), static_cast<unsigned long>(r.start), static_cast<unsigned long>(r.end));
  }
  if (syscall(SYS_mbind, r.start, r.end - r.start, r.mode, needs_nodes ? nodes : nullptr, needs_nodes ? kMaxNode : 0,
              kMpolMfMove) != 0) {
    fprintf(stderr, "crcore: restarted process %d: cannot give %#lx-%#lx its NUMA policy (mode %#x): %s\n", getpid(),
            static_cast<unsigned long>(r.start), static_cast<unsigned long>(r.end), r.mode, strerror(errno));
  }
}

}  // namespace

void reapply_region_policies(const RestartResources& image) {
  if (image.region_policies.empty()) {
    return;
  }
  uint64_t allowed[16] = {0};
  if (syscall(SYS_get_mempolicy, nullptr, allowed, kMaxNode, 0, kMpolFMemsAllowed) != 0) {
    memset(allowed, 0xff, sizeof allowed);
  }
  NodeMap map(image.topology);
  for (auto policy : image.region_policies) {
    map.apply(policy.nodes);
    apply(policy, allowed);
  }
}

}  // namespace crcore::runtime
