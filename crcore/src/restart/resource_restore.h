// Restoring what the image's Resource records describe (format version 3), in cr_restart before
// the stage: descriptors of the kinds eventfd, timerfd, signalfd, epoll, inotify, memfd, deleted
// file and named FIFO; then, once every descriptor is at its number, epoll interest lists, file
// locks and terminal settings; and the process's POSIX timers, interval timers and prctl state.
// Every failure is a RestartError naming the descriptor or the resource.
#pragma once

#include <map>
#include <string>

#include "image/image.h"
#include "restart/restorer.h"

namespace crcore::restart {

// The Resource records of one type for descriptor `fd` (or the process: fd -1), in file order.
std::vector<const image::ResourceEntry*> resources_of(const image::Image& image, image::ResourceType type, int fd);

// Opens a new descriptor standing for `f` (one of the version-3 kinds above), anywhere; holders
// keeps what must stay open until install (a FIFO's extra reader). Throws RestartError.
class ResourceFds {
 public:
  // Descriptors it keeps for itself are moved to `floor` or above (clear of the image's numbers).
  ResourceFds(const image::Image& image, int floor) : image_(image), floor_(floor) {}
  ResourceFds(const ResourceFds&) = delete;
  ResourceFds& operator=(const ResourceFds&) = delete;
  ~ResourceFds();

  int open(const image::FdEntry& f, const RestartOptions& options);

 private:
  const image::Image& image_;
  int floor_;
  std::map<std::string, int> fifo_holders_;
  std::map<int, int> pty_masters_;       // the image's pty number -> the new master (above the floor)
  int pty_master(int index, int owner);  // path -> an O_RDWR descriptor keeping the FIFO's data
};

// After every descriptor is at its number: epoll interest lists, flock/fcntl/OFD locks, terminal
// settings. Throws RestartError.
void restore_fd_details(const image::Image& image);

// POSIX timers (with their ids), interval timers, prctl state. Throws RestartError.
void restore_process_resources(const image::Image& image);

}  // namespace crcore::restart
