// Reservation of the stopped-world arena (normal context: runs before any thread is stopped).
#include "runtime/capture_arena.h"

#include <sys/mman.h>

#include <cerrno>

namespace crcore::runtime {
namespace {

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

int CaptureArena::reserve(size_t maps_bytes_now, size_t resident_pages_hint) {
  release();
  // Generous capacities: the mapping is untouched (and costs nothing) beyond what is used.
  maps_capacity = round_up(maps_bytes_now * 2 + (1u << 20), 4096);
  region_capacity = image::kMaxRegions;
  run_capacity = resident_pages_hint / 2 + (1u << 16);
  pagemap_capacity = 1u << 16;
  fd_capacity = 1u << 16;
  strings_capacity = 8u << 20;
  data_capacity = 16u << 20;
  diag_capacity = 32u << 10;
  writer_scratch_size = 8u << 20;

  size_t sizes[] = {maps_capacity,
                    round_up(region_capacity * sizeof(CapturedRegion), 4096),
                    round_up(run_capacity * sizeof(PageRun), 4096),
                    round_up(pagemap_capacity * sizeof(uint64_t), 4096),
                    round_up(fd_capacity * sizeof(CapturedFd), 4096),
                    strings_capacity,
                    data_capacity,
                    diag_capacity,
                    writer_scratch_size};
  size_t total = 0;
  for (size_t s : sizes) {
    total += s;
  }
  // Guard pages on both sides keep the arena a VMA of its own: the kernel never merges it with
  // the application's memory. The whole mapping, guards included, is left out of images. It is
  // inherited by fork: the copy-on-write writer (a forked child) works in it.
  constexpr size_t kGuard = 4096;
  void* p = mmap(nullptr, total + 2 * kGuard, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return -errno;
  }
  base = p;
  size = total + 2 * kGuard;
  if (mprotect(static_cast<char*>(p) + kGuard, total, PROT_READ | PROT_WRITE) != 0) {
    int e = errno;
    release();
    return -e;
  }
  auto* cursor = static_cast<char*>(p) + kGuard;
  maps_text = cursor;
  cursor += sizes[0];
  regions = reinterpret_cast<CapturedRegion*>(cursor);
  cursor += sizes[1];
  runs = reinterpret_cast<PageRun*>(cursor);
  cursor += sizes[2];
  pagemap = reinterpret_cast<uint64_t*>(cursor);
  cursor += sizes[3];
  fds = reinterpret_cast<CapturedFd*>(cursor);
  cursor += sizes[4];
  strings = cursor;
  cursor += sizes[5];
  data = cursor;
  cursor += sizes[6];
  diag = cursor;
  cursor += sizes[7];
  writer_scratch = reinterpret_cast<std::byte*>(cursor);
  return 0;
}

void CaptureArena::release() {
  if (base != nullptr) {
    munmap(base, size);
  }
  *this = CaptureArena{};
}

}  // namespace crcore::runtime
