// Descriptor table restoration (see fd_restore.h).
#include "restart/fd_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "image/kind_names.h"

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

}  // namespace

FdRestore::FdRestore(const image::Image& image, const RestartOptions& options) {
  for (const auto& f : image.fds) {
    highest_ = std::max(highest_, f.record.fd);
  }
  int floor = highest_ + 16;
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
}

}  // namespace crcore::restart
