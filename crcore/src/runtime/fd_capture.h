// Capturing the file descriptor table. RESTRICTED CODE (threads stopped): see thread_stop.cpp.
#pragma once

#include <cstdint>

#include "runtime/capture_arena.h"

namespace crcore::runtime {

struct FdCapture {
  uint32_t count = 0;
  uint32_t data_count = 0;  // pipes with unread data captured
};

// Descriptors the runtime owns (control socket, the image being written, ...) are skipped.
struct FdExclusions {
  int fds[8 + 64];
  int count;
};

// Lists every descriptor into arena.fds. Descriptors of a kind crcore cannot restore fail the
// capture (-ENOTSUP, with why naming the descriptor) unless allow_unsupported is set, in which
// case they are recorded as FdKind::Other and restored as /dev/null with a warning.
// pipe_probe: the two ends of a spare pipe, used to copy a pipe's unread bytes without
// consuming them (tee(2)).
int capture_fds(CaptureArena& arena, const FdExclusions& exclude, const int pipe_probe[2], bool allow_unsupported,
                FdCapture& out, char* why, size_t why_size);

}  // namespace crcore::runtime
