// Dirty-page tracking between checkpoints, for incremental images (cr_checkpoint --incremental).
//
// After every successful checkpoint the tracker remembers which anonymous regions the image held
// and how their changes will be found at the next checkpoint, region by region:
//   * Uffd: userfaultfd write-protect in asynchronous mode (UFFD_FEATURE_WP_ASYNC, Linux 6.7): the
//     kernel resolves the write faults itself and PAGEMAP_SCAN (PAGE_IS_WRITTEN) lists the written
//     pages, write-protecting them again in the same call. No handler thread, no signal. Used for
//     anonymous private memory (AnonPrivate, Heap, Stack) when the kernel has the features and the
//     region registers.
//   * Hash: XXH3 of every non-zero page as the image held it; a page whose hash differs is saved.
//     The fallback for kernels without WP_ASYNC (Linux 6.1), for regions userfaultfd refuses, and
//     everywhere with CRCORE_DIRTY_TRACKING=hash.
// Other kinds (file mappings, shared memory, deleted files) are written whole in every image.
// CRCORE_DIRTY_TRACKING=off turns tracking off (--incremental then writes full images).
//
// The state lives in one shared anonymous mapping, left out of images, that the copy-on-write
// writer (a forked child) fills in for its parent. It is lost with the process: the first
// checkpoint after a restart is a full image.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/pagemap_scan.h"

namespace crcore::runtime {

struct CaptureArena;
struct MemoryCapture;

enum class TrackMethod : uint32_t {
  None = 0,  // not tracked: written whole
  Uffd = 1,
  Hash = 2,
};

// One region of the last image (Uffd or Hash), sorted by start.
struct TrackedRange {
  uint64_t start;
  uint64_t end;
  uint32_t method;      // TrackMethod
  uint32_t scan_ok;     // Uffd: this checkpoint's PAGEMAP_SCAN covered it (else: written whole)
  uint64_t hash_first;  // Hash: its entries in the generation's hash table
  uint64_t hash_count;
};

struct PageHash {
  uint64_t address;
  uint64_t hash;  // XXH3-64 of the page (never 0: a zero page has no entry)
};

// What the image writer needs to know about tracking (plain data in the shared mapping).
struct IncrementalPlan {
  bool tracking = false;     // fill in the next generation (hashes) while scanning
  bool incremental = false;  // write an incremental image whose parent is parent_id
  uint8_t parent_id[16] = {};
  uint8_t image_id[16] = {};
  // The last image's ranges (with scan_ok set by this checkpoint) and hashes.
  const TrackedRange* prev = nullptr;
  uint32_t prev_count = 0;
  const PageHash* prev_hashes = nullptr;
  // This image's ranges (decided while the threads were stopped) and the room for their hashes.
  TrackedRange* next = nullptr;
  uint32_t next_count = 0;
  PageHash* next_hashes = nullptr;
  uint64_t next_hash_capacity = 0;
  uint64_t* next_hash_count = nullptr;  // in the shared mapping
  uint32_t* overflow = nullptr;         // set when the hashes did not fit: the next image is full
  // Uffd ranges: pages written since the last image, and pages discarded since (zero now).
  const uapi::PageRegion* written = nullptr;
  uint64_t written_count = 0;
  const uapi::PageRegion* zapped = nullptr;
  uint64_t zapped_count = 0;
  // Pieces of Uffd ranges whose scan failed (mapped anew since): written whole.
  const uapi::PageRegion* lost = nullptr;
  uint64_t lost_count = 0;
};

// Normal context, before the threads stop: sets up the shared mapping and userfaultfd the first
// time, and a fresh image id. 0 or -errno (then the checkpoint goes on without tracking).
int tracker_prepare(uint64_t resident_pages);

// Normal context, after tracker_prepare, while the program runs: when no image is tracked yet (the
// first checkpoint, or the first after a failed one), registers the anonymous regions and
// write-protects them now, so that the pause only protects again what the program writes until it
// stops (protecting 4 GiB of small pages takes 0.1-0.5 s). Best effort: what it cannot protect, the
// pause protects.
void tracker_prearm(CaptureArena& arena);

// RESTRICTED CODE (threads stopped): collects the written pages of the Uffd ranges (and protects
// them again), captures the regions into arena/memory, registers and protects the new anonymous
// regions, and fills plan. incremental: the request asked for an incremental image (written only
// when the last image is known). 0 or -errno (then plan.tracking is false and the image is full).
int tracker_before_dump(CaptureArena& arena, MemoryCapture& memory, bool incremental, IncrementalPlan& plan);

// Normal context, after the answer: the image is in place (committed) or not. Only a committed
// image becomes the parent of the next incremental one.
void tracker_after_checkpoint(bool committed);

// At start-up (normal context): opens the userfaultfd now, so that the process's descriptors do not
// change at its first checkpoint.
void tracker_init();

// After a restart: the mapping and the userfaultfd were left out of the image. Opens a new one.
void tracker_forget();

// In a forked child: the mapping and the userfaultfd are the parent's; the child gets its own.
void tracker_after_fork();

// The tracker's own mapping, which images leave out (start, end; 0, 0 when none).
void tracker_mapping(uint64_t* start, uint64_t* end);
// Its userfaultfd descriptor (-1 when none), left out of images.
int tracker_fd();

}  // namespace crcore::runtime
