// Pipes and socketpairs shared by several processes of a scope, created once by cr_restart before
// it forks the tree (so that every process inherits the same pipe object, as they shared one at
// the checkpoint) and already refilled with their unread data. FdRestore takes a process's
// descriptors of these objects from here instead of creating private ones.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

namespace crcore::restart {

struct ScopeFds {
  std::map<uint64_t, std::pair<int, int>> pipes;  // pipe inode at checkpoint -> (read end, write end)
  std::map<uint64_t, int> sockets;                // socketpair end's inode at checkpoint -> its new socket
};

}  // namespace crcore::restart

#include <vector>

#include "image/image.h"

namespace crcore::restart {

// Creates every pipe and socketpair that more than one image of the scope holds (a pipe by its
// inode, a socketpair by either end), refilled with the unread data the images recorded. Throws
// RestartError; closes what it made when it does.
ScopeFds create_scope_fds(const std::vector<const image::Image*>& images);

// Closes every descriptor of `fds` in this process (the processes of the scope have their own).
void close_scope_fds(ScopeFds& fds);

}  // namespace crcore::restart
