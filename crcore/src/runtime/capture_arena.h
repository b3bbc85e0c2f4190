// Memory the checkpoint needs while application threads are stopped, reserved beforehand.
// Nothing allocates while the world is stopped: a stopped thread may hold malloc's lock.
// The arena is one private anonymous mapping that the image leaves out.
#pragma once

#include <cstddef>
#include <cstdint>

#include "image/format.h"

namespace crcore::runtime {

struct CapturedRegion {
  image::RegionRecord record;
  const char* path;    // points into the maps text
  uint32_t first_run;  // index of its first page run
  uint32_t run_count;
  // 0: the pages are read from the region itself. Otherwise from a copy of it, at address +
  // source_delta (mod 2^64): a shared region staged for the copy-on-write writer (shared_staging.h).
  uint64_t source_delta;
};

struct PageRun {
  uint64_t address;
  uint64_t length;
};

struct CapturedFd {
  image::FdRecord record;
  const char* path;      // points into the string pool
  uint64_t data_offset;  // pipe or socket data in the data pool
  uint64_t data_length;
  bool has_data;
};

struct CaptureArena {
  void* base = nullptr;  // the whole mapping, guard pages included
  size_t size = 0;

  char* maps_text = nullptr;  // /proc/self/maps
  size_t maps_capacity = 0;
  CapturedRegion* regions = nullptr;
  uint32_t region_capacity = 0;
  PageRun* runs = nullptr;
  uint64_t run_capacity = 0;
  uint64_t* pagemap = nullptr;  // one batch of /proc/self/pagemap entries
  size_t pagemap_capacity = 0;  // entries
  CapturedFd* fds = nullptr;
  uint32_t fd_capacity = 0;
  char* strings = nullptr;  // fd paths, process strings
  size_t strings_capacity = 0;
  char* data = nullptr;  // unread data of pipes and socketpair ends
  size_t data_capacity = 0;
  char* diag = nullptr;  // sock_diag netlink replies (one socket at a time)
  size_t diag_capacity = 0;
  std::byte* writer_scratch = nullptr;
  size_t writer_scratch_size = 0;

  // Maps and lays out the arena, sized for the current process. 0 or -errno.
  int reserve(size_t maps_bytes_now, size_t resident_pages_hint);
  void release();
  bool contains(uint64_t address) const {
    auto b = reinterpret_cast<uint64_t>(base);
    return address >= b && address < b + size;
  }
};

}  // namespace crcore::runtime
