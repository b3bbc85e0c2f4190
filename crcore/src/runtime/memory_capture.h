// Capturing the address space: which regions exist and which of their pages go into the image.
// RESTRICTED CODE (runs while application threads are stopped): see thread_stop.cpp.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

#include "image/format.h"
#include "runtime/capture_arena.h"

namespace crcore::runtime {

struct MemoryCapture {
  uint32_t region_count = 0;
  uint64_t run_count = 0;
  uint64_t pages_saved = 0;
  image::SpecialMap special[image::kMaxSpecialMaps] = {};
  uint32_t special_count = 0;
};

// True if the 4096-byte page at `page` holds only zero bytes (such pages are left out of images).
// Async-signal-safe; inline: it runs once per captured page.
inline bool is_zero_page(const void* page) {
  auto* p = static_cast<const uint64_t*>(page);
  for (size_t i = 0; i < 4096 / sizeof(uint64_t); i += 8) {
    if ((p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7]) != 0) {
      return false;
    }
  }
  return true;
}

// Parses /proc/self/maps into arena.regions, leaving out the kernel's special mappings (kept in
// special[]) and the arena itself. 0 or -errno (-E2BIG: too many regions).
int capture_regions(CaptureArena& arena, MemoryCapture& out, char* why, size_t why_size);

// Decides, page by page, what each region contributes (present or swapped pages that hold data
// the file does not; all-zero pages are left out) and records the runs. 0 or -errno.
int scan_pages(CaptureArena& arena, MemoryCapture& out, char* why, size_t why_size);

// scan_pages for one region (pagemap: /proc/self/pagemap, open). A region with a source_delta is
// scanned in its staged copy. 0 or -errno.
int scan_region(CaptureArena& arena, CapturedRegion& r, MemoryCapture& out, int pagemap, char* why, size_t why_size);

// The pagemap entries of `count` pages of a region from `address` into entries; for a shared region
// (shared: AnonShared) a page resident in the shared object but not mapped here (brought in by
// another process, or by write(2) to a memfd) counts as present too (mincore). 0 or -errno.
int read_page_entries(int pagemap, uint64_t address, uint64_t count, bool shared, uint64_t* entries);

// Bits of a /proc/self/pagemap entry.
inline constexpr uint64_t kPagemapPresent = 1ull << 63;
inline constexpr uint64_t kPagemapSwapped = 1ull << 62;
inline constexpr uint64_t kPagemapFileOrSharedAnon = 1ull << 61;

// Whether a pagemap entry (as read_page_entries gives it) is a page that holds data: present or swapped.
inline bool page_entry_touched(uint64_t entry) { return (entry & (kPagemapPresent | kPagemapSwapped)) != 0; }

// The zero-page checks of a scan read the first cache line of every touched page: one cache and TLB
// miss each, which the hardware does not fetch ahead across pages. The scans ask for the page this
// many entries ahead of the one they check, when it is touched (a prefetch never faults, also on an
// unreadable page).
inline constexpr uint64_t kZeroCheckLookahead = 8;
// entries: a batch of `count` pagemap entries; page_k: the address of entry k's 4096-byte page.
inline void prefetch_ahead(const uint64_t* entries, uint64_t k, uint64_t count, uint64_t page_k) {
  if (k + kZeroCheckLookahead < count && page_entry_touched(entries[k + kZeroCheckLookahead])) {
    __builtin_prefetch(reinterpret_cast<const void*>(page_k + kZeroCheckLookahead * 4096), 0, 0);
  }
}

// The mmap/mprotect protection of a RegionRecord's prot bits (image::kProt*).
inline int mmap_prot(uint32_t prot) {
  return ((prot & image::kProtRead) ? PROT_READ : 0) | ((prot & image::kProtWrite) ? PROT_WRITE : 0) |
         ((prot & image::kProtExec) ? PROT_EXEC : 0);
}

// PageRun.length with this bit: a zero-fill run of an incremental image (no bytes; see
// image::kRecordZeroFill). The length is the rest of the bits.
inline constexpr uint64_t kRunZeroFill = 1ull << 63;

}  // namespace crcore::runtime
