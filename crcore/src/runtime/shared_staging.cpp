// Staging shared memory for the copy-on-write writer (see shared_staging.h). RESTRICTED CODE:
// syscalls and plain data only (the threads are stopped, one may hold malloc's lock).
#include "runtime/shared_staging.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

constexpr uint64_t kPage = 4096;

bool is_shared(const CapturedRegion& r) {
  return static_cast<image::RegionKind>(r.record.kind) == image::RegionKind::AnonShared;
}

// Copies the pages of r that hold data to copy (r's offset 0 at copy), run by run.
int copy_region(CaptureArena& arena, const CapturedRegion& r, std::byte* copy, int pagemap, uint64_t* bytes) {
  uint64_t pages = (r.record.end - r.record.start) / kPage;
  uint64_t run_start = 0, run_pages = 0;  // the run being gathered, in pages from r's start
  auto flush = [&] {
    if (run_pages != 0) {
      memcpy(copy + run_start * kPage, reinterpret_cast<const void*>(r.record.start + run_start * kPage),
             run_pages * kPage);
      *bytes += run_pages * kPage;
      run_pages = 0;
    }
  };
  for (uint64_t done = 0; done < pages;) {
    uint64_t batch = pages - done < arena.pagemap_capacity ? pages - done : arena.pagemap_capacity;
    int rc = read_page_entries(pagemap, r.record.start + done * kPage, batch, true, arena.pagemap);
    if (rc != 0) {
      return rc;
    }
    for (uint64_t k = 0; k < batch; ++k) {
      if (!page_entry_touched(arena.pagemap[k])) {
        flush();
        continue;
      }
      if (run_pages == 0) {
        run_start = done + k;
      }
      ++run_pages;
    }
    done += batch;
  }
  flush();
  return 0;
}

}  // namespace

int stage_shared_regions(CaptureArena& arena, MemoryCapture& memory, SharedStaging& out, char* why, size_t why_size) {
  out = SharedStaging{};
  size_t total = 0;
  for (uint32_t i = 0; i < memory.region_count; ++i) {
    if (is_shared(arena.regions[i])) {
      total += arena.regions[i].record.end - arena.regions[i].record.start;
    }
  }
  if (total == 0) {
    return 0;
  }
  // Reserved, not committed: only the pages copied below are ever touched.
  void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    int error = errno;
    keep_first_why(why, why_size, "cannot map a copy of the shared memory for the copy-on-write writer");
    return -error;
  }
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) {
    int error = errno;
    munmap(base, total);
    keep_first_why(why, why_size, "cannot open /proc/self/pagemap");
    return -error;
  }
  auto* cursor = static_cast<std::byte*>(base);
  int rc = 0;
  for (uint32_t i = 0; i < memory.region_count && rc == 0; ++i) {
    CapturedRegion& r = arena.regions[i];
    if (!is_shared(r)) {
      continue;
    }
    void* start = reinterpret_cast<void*>(r.record.start);
    size_t length = r.record.end - r.record.start;
    bool readable = (r.record.prot & image::kProtRead) != 0;
    if (!readable && mprotect(start, length, PROT_READ) != 0) {
      rc = -errno;
      keep_first_why(why, why_size, "cannot read a protected shared region");
      break;
    }
    rc = copy_region(arena, r, cursor, pagemap, &out.bytes_copied);
    if (!readable) {
      mprotect(start, length, mmap_prot(r.record.prot));
    }
    if (rc != 0) {
      keep_first_why(why, why_size, "cannot read the pages of a shared region");
      break;
    }
    r.source_delta = reinterpret_cast<uint64_t>(cursor) - r.record.start;
    cursor += length;
  }
  close(pagemap);
  if (rc != 0) {
    forget_shared_staging(arena, memory);
    munmap(base, total);
    return rc;
  }
  out.base = base;
  out.size = total;
  return 0;
}

void release_shared_staging(SharedStaging& staging) {
  if (staging.base != nullptr) {
    munmap(staging.base, staging.size);
  }
  staging = SharedStaging{};
}

void forget_shared_staging(CaptureArena& arena, MemoryCapture& memory) {
  for (uint32_t i = 0; i < memory.region_count; ++i) {
    arena.regions[i].source_delta = 0;
  }
}

}  // namespace crcore::runtime
