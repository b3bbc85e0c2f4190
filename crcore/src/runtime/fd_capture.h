// Capturing the file descriptor table. RESTRICTED CODE (threads stopped): see thread_stop.cpp.
#pragma once

#include <cstdint>

#include "runtime/capture_arena.h"
#include "runtime/resource_capture.h"

namespace crcore::runtime {

struct FdCapture {
  uint32_t count = 0;
  uint32_t data_count = 0;  // pipes and socketpair ends with unread data captured
  ResourceList resources;   // Resource records: descriptor details, then the process's (resource_capture.h)
};

// Descriptors the runtime owns (control socket, the image being written, ...) are skipped.
struct FdExclusions {
  int fds[8 + 64];
  int count;
};

// Lists every descriptor into arena.fds, with the unread data of pipes and socketpair ends in
// arena.data. Sockets: an unnamed AF_UNIX socketpair (stream, dgram or seqpacket) whose two ends
// are both open here becomes two FdKind::UnixPair ends; any other socket (TCP/IP, named or
// listening AF_UNIX, a pair whose peer is outside or closed, a queue carrying descriptors) is, like
// every kind crcore cannot restore, refused: -ENOTSUP, with why naming the descriptor. With
// allow_unsupported such descriptors are recorded as FdKind::Other instead (/dev/null at restart,
// with a warning). -ENOBUFS when the queued data does not fit arena.data.
// pipe_probe: the two ends of a spare pipe, used to copy a pipe's unread bytes without
// consuming them (tee(2)). Sockets are read with MSG_PEEK (and SO_PEEK_OFF, put back after).
// peers_in_scope (one process of a --tree/--pgid/--sid checkpoint): a socketpair end whose peer is
// not in this process is kept as UnixPair all the same; the requester checks that the peer is in
// another image of the scope.
int capture_fds(CaptureArena& arena, const FdExclusions& exclude, const int pipe_probe[2], bool allow_unsupported,
                FdCapture& out, char* why, size_t why_size, bool peers_in_scope = false);

}  // namespace crcore::runtime
