// Descriptor table restoration (see fd_restore.h).
#include "restart/fd_restore.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "image/kind_names.h"
#include "restart/resource_restore.h"
#include "restart/scope_fds.h"

namespace crcore::restart {
namespace {

// Moves a descriptor above `floor` so that it never collides with one the image uses.
int lift(int fd, int floor) {
  int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  if (high < 0) {
    throw RestartError(std::string("cannot duplicate a descriptor: ") + strerror(errno));
  }
  close(fd);
  return high;
}

void write_all(int fd, const std::vector<std::byte>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      throw RestartError(std::string("cannot refill a pipe: ") + strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
}

std::string descriptor(const image::FdRecord& r) { return "descriptor " + std::to_string(r.fd); }

// Sends all of bytes from `from` without waiting: the peer's queue must take them all now.
void send_all(int from, const std::byte* bytes, size_t size, bool message, const image::FdRecord& receiver) {
  size_t done = 0;
  do {
    ssize_t n = send(from, bytes + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 || (message && static_cast<size_t>(n) != size)) {
      throw RestartError(descriptor(receiver) + ": cannot refill its socket's queue: " +
                         (n < 0 ? std::string(strerror(errno)) : "a message was cut"));
    }
    done += static_cast<size_t>(n);
  } while (done < size);
}

// Sets SO_SNDBUF or SO_RCVBUF to what the image recorded (getsockopt's doubled value).
void set_buffer(int fd, int option, int force_option, uint32_t recorded, const image::FdRecord& r) {
  if (recorded == 0) {
    return;
  }
  int value = static_cast<int>(recorded / 2);  // the kernel doubles what it is given
  setsockopt(fd, SOL_SOCKET, option, &value, sizeof value);
  int now = 0;
  socklen_t len = sizeof now;
  getsockopt(fd, SOL_SOCKET, option, &now, &len);
  if (static_cast<uint32_t>(now) < recorded && setsockopt(fd, SOL_SOCKET, force_option, &value, sizeof value) != 0) {
    fprintf(stderr, "cr_restart: warning: descriptor %d: its socket's %s buffer is %d bytes instead of %u\n", r.fd,
            option == SO_SNDBUF ? "send" : "receive", now, recorded);
  }
}

// The socketpairs of the image, each created on first use: one new socketpair per pair of ends,
// each end's queue refilled by sending its bytes or messages from the other end (in order, with
// their boundaries), then the ends' buffer sizes and shutdown state as recorded.
class SocketPairs {
 public:
  SocketPairs(const image::Image& image, int floor) : image_(image), floor_(floor) {
    for (const auto& f : image.fds) {
      if (static_cast<image::FdKind>(f.record.kind) == image::FdKind::UnixPair) {
        records_.emplace(f.record.inode, &f.record);
      }
    }
  }
  SocketPairs(const SocketPairs&) = delete;
  SocketPairs& operator=(const SocketPairs&) = delete;
  ~SocketPairs() {
    for (const auto& [inode, fd] : ends_) {
      close(fd);
    }
  }

  // The new socket standing for r's end (the reader checked that its peer is in the image).
  int end(const image::FdRecord& r) {
    auto it = ends_.find(r.inode);
    if (it == ends_.end()) {
      create(r, *records_.at(r.peer_inode));
      it = ends_.find(r.inode);
    }
    return it->second;
  }

 private:
  void create(const image::FdRecord& a, const image::FdRecord& b) {
    int pair[2];
    if (socketpair(AF_UNIX, static_cast<int>(a.socket_type) | SOCK_CLOEXEC, 0, pair) != 0) {
      throw RestartError(descriptor(a) + ": cannot create a socketpair: " + strerror(errno));
    }
    ends_[a.inode] = pair[0];
    ends_[b.inode] = pair[1];
    ends_[a.inode] = lift(pair[0], floor_);
    ends_[b.inode] = lift(pair[1], floor_);
    for (const image::FdRecord* r : {&a, &b}) {
      set_buffer(ends_[r->inode], SO_SNDBUF, SO_SNDBUFFORCE, r->send_buffer, *r);
      set_buffer(ends_[r->inode], SO_RCVBUF, SO_RCVBUFFORCE, r->receive_buffer, *r);
    }
    refill(a, ends_[b.inode]);
    refill(b, ends_[a.inode]);
    for (const image::FdRecord* r : {&a, &b}) {
      bool read = (r->shutdown & image::kShutdownRead) != 0;
      bool write = (r->shutdown & image::kShutdownWrite) != 0;
      if ((read || write) && shutdown(ends_[r->inode], read && write ? SHUT_RDWR : read ? SHUT_RD : SHUT_WR) != 0) {
        throw RestartError(descriptor(*r) + ": cannot shut its socket down: " + strerror(errno));
      }
    }
  }

  // Puts back the queue of `receiver` by sending it from its peer's new socket.
  void refill(const image::FdRecord& receiver, int from) {
    for (const auto& d : image_.fd_data) {
      if (d.inode != receiver.inode) {
        continue;
      }
      if (receiver.socket_type == image::kSocketStream) {
        send_all(from, d.bytes.data(), d.bytes.size(), false, receiver);
      } else {
        for (const auto& m : d.messages) {
          send_all(from, m.data(), m.size(), true, receiver);
        }
      }
    }
  }

  const image::Image& image_;
  int floor_;
  std::map<uint64_t, const image::FdRecord*> records_;  // inode -> one of its descriptors
  std::map<uint64_t, int> ends_;                        // inode -> the new socket, above floor_
};

}  // namespace

FdRestore::FdRestore(const image::Image& image, const RestartOptions& options) : image_(image) {
  for (const auto& f : image.fds) {
    highest_ = std::max(highest_, f.record.fd);
  }
  int floor = highest_ + 16;
  resource_fds_ = std::make_unique<ResourceFds>(image, floor);
  SocketPairs sockets(image, floor);
  // Pipes: one new pipe per pipe of the image that has both ends inside the process.
  std::map<uint64_t, std::pair<int, int>> pipes;  // inode -> (read, write)
  std::map<uint64_t, int> ends;                   // inode -> which ends seen (1 read, 2 write)
  for (const auto& f : image.fds) {
    auto kind = static_cast<image::FdKind>(f.record.kind);
    if (kind == image::FdKind::PipeRead) {
      ends[f.record.inode] |= 1;
    } else if (kind == image::FdKind::PipeWrite) {
      ends[f.record.inode] |= 2;
    }
  }
  for (const auto& f : image.fds) {
    const auto& r = f.record;
    auto kind = static_cast<image::FdKind>(r.kind);
    bool cloexec = (r.fd_flags & FD_CLOEXEC) != 0;
    int fd = -1;
    bool stdio = r.fd >= 0 && r.fd <= 2;
    switch (kind) {
      case image::FdKind::RegularFile:
      case image::FdKind::Directory:
      case image::FdKind::CharDevice: {
        std::string path = relocate(f.path, options);
        int flags = static_cast<int>(r.open_flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
        fd = open(path.c_str(), flags | O_CLOEXEC);
        if (fd < 0) {
          throw RestartError("descriptor " + std::to_string(r.fd) + ": cannot open " + path + ": " + strerror(errno) +
                             (options.relocations.empty() ? " (moved? use --relocate OLD=NEW)" : ""));
        }
        if (kind == image::FdKind::RegularFile && r.offset >= 0 && lseek(fd, r.offset, SEEK_SET) < 0) {
          throw RestartError("descriptor " + std::to_string(r.fd) + ": cannot seek " + path + ": " + strerror(errno));
        }
        break;
      }
      case image::FdKind::Tty:
        // Reattach to cr_restart's own terminal (or whatever its stdio is).
        fd = fcntl(stdio ? r.fd : 0, F_DUPFD_CLOEXEC, floor);
        break;
      case image::FdKind::PipeRead:
      case image::FdKind::PipeWrite: {
        if (options.scope_fds != nullptr && options.scope_fds->pipes.count(r.inode) != 0) {
          // Shared with other processes of the scope: the one pipe cr_restart made for all of them.
          const auto& shared = options.scope_fds->pipes.at(r.inode);
          fd = fcntl(kind == image::FdKind::PipeRead ? shared.first : shared.second, F_DUPFD_CLOEXEC, floor);
          if (fd >= 0) {
            fcntl(fd, F_SETFL, static_cast<int>(r.open_flags) & (O_NONBLOCK | O_APPEND));
          }
          break;
        }
        bool both = ends[r.inode] == 3;
        if (!both && stdio) {
          fd = fcntl(r.fd, F_DUPFD_CLOEXEC, floor);  // the peer is outside: reattach to ours
          break;
        }
        auto it = pipes.find(r.inode);
        if (it == pipes.end()) {
          int p[2];
          if (pipe2(p, O_CLOEXEC) != 0) {
            throw RestartError(std::string("cannot create a pipe: ") + strerror(errno));
          }
          it = pipes.emplace(r.inode, std::make_pair(lift(p[0], floor), lift(p[1], floor))).first;
          for (const auto& d : image.fd_data) {
            if (d.inode == r.inode) {
              // A pipe that held more than the default 64 KiB had been enlarged: so is this one.
              if (d.bytes.size() > 65536 &&
                  fcntl(it->second.second, F_SETPIPE_SZ, static_cast<int>(d.bytes.size())) < 0) {
                throw RestartError("descriptor " + std::to_string(r.fd) + ": cannot make a pipe large enough for its " +
                                   std::to_string(d.bytes.size()) + " saved bytes: " + strerror(errno));
              }
              write_all(it->second.second, d.bytes);
            }
          }
          if (!both) {
            fprintf(stderr, "cr_restart: warning: descriptor %d: the other end of its pipe was outside the process\n",
                    r.fd);
          }
        }
        int source = kind == image::FdKind::PipeRead ? it->second.first : it->second.second;
        fd = fcntl(source, F_DUPFD_CLOEXEC, floor);
        fcntl(fd, F_SETFL, static_cast<int>(r.open_flags) & (O_NONBLOCK | O_APPEND));
        break;
      }
      case image::FdKind::UnixPair:
        if (options.scope_fds != nullptr && options.scope_fds->sockets.count(r.inode) != 0) {
          fd = fcntl(options.scope_fds->sockets.at(r.inode), F_DUPFD_CLOEXEC, floor);  // shared in the scope
        } else {
          fd = fcntl(sockets.end(r), F_DUPFD_CLOEXEC, floor);
        }
        if (fd >= 0) {
          fcntl(fd, F_SETFL, static_cast<int>(r.open_flags) & O_NONBLOCK);
        }
        break;
      case image::FdKind::EventFd:
      case image::FdKind::TimerFd:
      case image::FdKind::SignalFd:
      case image::FdKind::Epoll:
      case image::FdKind::Inotify:
      case image::FdKind::Memfd:
      case image::FdKind::DeletedFile:
      case image::FdKind::Fifo:
      case image::FdKind::UnixListen:
      case image::FdKind::UnixBound:
      case image::FdKind::PtyMaster:
      case image::FdKind::PtySlave:
        fd = resource_fds_->open(f, options);  // resource_restore.cpp
        break;
      default:
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        fprintf(stderr, "cr_restart: warning: descriptor %d (%s) is restored as /dev/null\n", r.fd, f.path.c_str());
        break;
    }
    if (fd < 0) {
      throw RestartError("descriptor " + std::to_string(r.fd) + ": " + strerror(errno));
    }
    prepared_.push_back({r.fd, lift(fd, floor), cloexec});
  }
  for (auto& [inode, p] : pipes) {
    close(p.first);
    close(p.second);
  }
}

FdRestore::~FdRestore() {
  for (const auto& p : prepared_) {
    if (p.fd >= 0) {
      close(p.fd);
    }
  }
}

void FdRestore::install(int keep_from) {
  std::vector<bool> used(static_cast<size_t>(highest_) + 1, false);
  for (auto& p : prepared_) {
    if (dup3(p.fd, p.target, p.cloexec ? O_CLOEXEC : 0) < 0) {
      throw RestartError("cannot install descriptor " + std::to_string(p.target) + ": " + strerror(errno));
    }
    close(p.fd);
    p.fd = -1;
    used[static_cast<size_t>(p.target)] = true;
  }
  for (int fd = 0; fd < keep_from; ++fd) {
    if (fd > highest_ || !used[static_cast<size_t>(fd)]) {
      close(fd);
    }
  }
  restore_fd_details(image_);  // epoll interest lists, locks, terminal settings (resource_restore.cpp)
  resource_fds_.reset();
}

}  // namespace crcore::restart
