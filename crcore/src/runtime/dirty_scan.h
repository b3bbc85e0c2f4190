// Deciding what an image holds when the dirty tracker is on (see dirty_tracker.h).
// RESTRICTED CODE: runs while the threads are stopped, or in the copy-on-write writer.
#pragma once

#include <cstddef>

#include "runtime/capture_arena.h"
#include "runtime/dirty_tracker.h"
#include "runtime/memory_capture.h"

namespace crcore::runtime {

// scan_pages with tracking. Anonymous private regions (AnonPrivate, Heap, Stack):
//   * full image: every present or swapped non-zero page, as scan_pages; their hashes go into the
//     next generation where the region is hash-tracked.
//   * incremental image: a page tracked since the parent (by userfaultfd or hash) is saved when it
//     was written (or its hash differs) and is not zero; a tracked page that is zero now and may
//     not have been before becomes a zero-fill run; an untracked page of a region that inherits is
//     saved when it holds data and zero-filled otherwise. The region gets kRegionInherits when any
//     of its pages is tracked.
// Every other region is scanned as in a full image (scan_region). 0 or -errno.
int scan_pages_tracked(CaptureArena& arena, MemoryCapture& out, const IncrementalPlan& plan, char* why,
                       size_t why_size);

}  // namespace crcore::runtime
