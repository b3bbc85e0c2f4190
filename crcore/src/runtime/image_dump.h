// Writing the image of the stopped process. RESTRICTED CODE: see thread_stop.cpp.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "image/zstd_workspace.h"
#include "runtime/capture_arena.h"
#include "runtime/dirty_tracker.h"
#include "runtime/fd_capture.h"
#include "runtime/memory_capture.h"
#include "runtime/region_advice.h"

namespace crcore::runtime {

// Who the process is: taken by the process itself, since the writer may be a forked child.
struct ProcessIdentity {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
};

struct DumpRequest {
  ProcessIdentity identity;
  int image_fd = -1;
  image::ZstdWorkspace* zstd = nullptr;  // nullptr: pages stored raw
  bool hash_thread = false;              // RecordWriter::allow_hash_thread
  bool allow_unsupported_fds = false;
  bool scope_member = false;  // one process of a scope: kFileScopeMember, socketpair peers elsewhere
  FdExclusions exclude{};
  int pipe_probe[2] = {-1, -1};
  // Descriptors already captured (into the same arena) by the stopped process itself: a
  // copy-on-write writer runs after the threads go on, and file offsets and the data queued in
  // pipes and sockets are live kernel state, not part of its frozen copy of memory.
  const FdCapture* descriptors = nullptr;
  // Regions already captured by the stopped process (the dirty tracker needs them before the
  // copy-on-write writer forks), and the tracker's plan: nullptr for neither.
  const MemoryCapture* memory = nullptr;
  const IncrementalPlan* plan = nullptr;
  // The copy-on-write writer: the fork advice lifted for it (region_advice.h), and that it runs in
  // the forked copy.
  const ForkAdvice* lifted = nullptr;
  size_t lifted_count = 0;
  bool in_fork_child = false;
};

struct DumpResult {
  uint64_t image_bytes = 0;
  uint64_t page_bytes = 0;
  uint32_t threads = 0;
  uint32_t regions = 0;
  uint32_t huge_page_regions = 0;  // regions advised MADV_HUGEPAGE (the manager collapses them again)
  bool incremental = false;
};

// Writes the whole image: every parked thread's record and the manager's own (its context must
// already be saved), memory, descriptors, signal state. 0 or -errno; why says what failed.
// The image is complete in the page cache on return; the caller fsyncs it.
int dump_image(CaptureArena& arena, const DumpRequest& request, DumpResult& result, char* why, size_t why_size);

}  // namespace crcore::runtime
