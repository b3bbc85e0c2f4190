// region_policy.h.
#include "runtime/region_policy.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/runtime_state.h"
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

bool read_exactly(int fd, void* out, size_t size) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

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

void reapply_region_policies() {
  const char* path = g_runtime.restart_block.image_path;
  if (path[0] == '\0') {
    return;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "crcore: restarted process %d: cannot read %s again for its NUMA policies of ranges: %s\n",
            getpid(), path, strerror(errno));
    return;
  }
  uint64_t allowed[16] = {0};
  if (syscall(SYS_get_mempolicy, nullptr, allowed, kMaxNode, 0, kMpolFMemsAllowed) != 0) {
    memset(allowed, 0xff, sizeof allowed);
  }
  // The image was checked whole by cr_restart a moment ago: its records are walked, not checked
  // again. Resource records are never compressed.
  image::FileHeader file{};
  bool ok = read_exactly(fd, &file, sizeof file) && memcmp(file.magic, image::kFileMagic, sizeof file.magic) == 0 &&
            lseek(fd, file.header_size, SEEK_SET) == static_cast<off_t>(file.header_size);
  while (ok) {
    image::RecordHeader h{};
    if (!read_exactly(fd, &h, sizeof h) || h.magic != image::kRecordMagic) {
      ok = false;
      break;
    }
    if (h.kind == static_cast<uint16_t>(image::RecordKind::End)) {
      break;
    }
    uint64_t left = h.stored_size;
    if (h.kind == static_cast<uint16_t>(image::RecordKind::Resource) && left >= sizeof(image::ResourceHeader)) {
      image::ResourceHeader r{};
      ok = read_exactly(fd, &r, sizeof r);
      left -= sizeof r;
      if (ok && r.type == static_cast<uint32_t>(image::ResourceType::RegionMemPolicy) &&
          left == sizeof(image::RegionMemPolicyResource)) {
        image::RegionMemPolicyResource policy{};
        ok = read_exactly(fd, &policy, sizeof policy);
        left = 0;
        if (ok) {
          apply(policy, allowed);
        }
      }
    }
    if (ok && left > 0 && lseek(fd, static_cast<off_t>(left), SEEK_CUR) < 0) {
      ok = false;
    }
  }
  if (!ok) {
    fprintf(stderr, "crcore: restarted process %d: cannot walk %s again for its NUMA policies of ranges\n", getpid(),
            path);
  }
  close(fd);
}

}  // namespace crcore::runtime
