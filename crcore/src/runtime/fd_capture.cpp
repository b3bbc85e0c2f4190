// File descriptor capture (see fd_capture.h). RESTRICTED CODE: syscalls and plain data only.
#include "runtime/fd_capture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

bool excluded(const FdExclusions& ex, int fd) {
  for (int i = 0; i < ex.count; ++i) {
    if (ex.fds[i] == fd) {
      return true;
    }
  }
  return false;
}

void say(char* why, size_t size, const char* a, int fd, const char* b, const char* c) {
  char number[24];
  append_decimal(number, static_cast<uint64_t>(fd));
  const char* parts[] = {a, number, b, c};
  size_t used = 0;
  for (const char* part : parts) {
    size_t n = strlen(part);
    if (used + n + 1 > size) {
      n = size - used - 1;
    }
    memcpy(why + used, part, n);
    used += n;
  }
  why[used] = '\0';
}

image::FdKind classify(int fd, const struct stat& st, int open_flags, const char* path) {
  if (S_ISREG(st.st_mode)) {
    return image::FdKind::RegularFile;
  }
  if (S_ISDIR(st.st_mode)) {
    return image::FdKind::Directory;
  }
  if (S_ISCHR(st.st_mode)) {
    struct termios t;
    return ioctl(fd, TCGETS, &t) == 0 ? image::FdKind::Tty : image::FdKind::CharDevice;
  }
  if (S_ISFIFO(st.st_mode) && strncmp(path, "pipe:[", 6) == 0) {
    return (open_flags & O_ACCMODE) == O_WRONLY ? image::FdKind::PipeWrite : image::FdKind::PipeRead;
  }
  if (S_ISSOCK(st.st_mode)) {
    return image::FdKind::Socket;
  }
  return image::FdKind::Other;
}

// Copies the unread bytes of a pipe whose read end is `fd` without consuming them.
ssize_t peek_pipe(int fd, const int probe[2], char* out, size_t capacity) {
  ssize_t copied = tee(fd, probe[1], capacity, SPLICE_F_NONBLOCK);
  if (copied <= 0) {
    return copied < 0 && errno == EAGAIN ? 0 : copied;
  }
  size_t got = 0;
  while (got < static_cast<size_t>(copied)) {
    ssize_t n = read(probe[0], out + got, static_cast<size_t>(copied) - got);
    if (n <= 0) {
      return -1;
    }
    got += static_cast<size_t>(n);
  }
  return copied;
}

}  // namespace

int capture_fds(CaptureArena& arena, const FdExclusions& exclude, const int pipe_probe[2], bool allow_unsupported,
                FdCapture& out, char* why, size_t why_size) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return -errno;
  }
  out = FdCapture{};
  size_t strings_used = arena.strings_capacity / 2;  // the first half holds the process's strings
  size_t data_used = 0;
  alignas(8) char buf[4096];
  int rc = 0;
  for (;;) {
    long got = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (got <= 0) {
      rc = got < 0 ? -errno : 0;
      break;
    }
    for (long off = 0; off < got && rc == 0;) {
      auto* entry = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') {
        continue;
      }
      const char* p = entry->d_name;
      int fd = static_cast<int>(parse_number(&p, 10));
      if (fd == dir || excluded(exclude, fd) || fd == pipe_probe[0] || fd == pipe_probe[1]) {
        continue;
      }
      if (out.count >= arena.fd_capacity) {
        return -E2BIG;
      }
      CapturedFd& c = arena.fds[out.count];
      memset(&c, 0, sizeof c);
      char link[64] = "/proc/self/fd/";
      append_decimal(link + strlen(link), static_cast<uint64_t>(fd));
      char* path = arena.strings + strings_used;
      ssize_t path_len = read_link(link, path, arena.strings_capacity - strings_used);
      struct stat st;
      if (path_len < 0 || fstat(fd, &st) != 0) {
        continue;  // closed meanwhile (by us?)
      }
      strings_used += static_cast<size_t>(path_len) + 1;
      int open_flags = fcntl(fd, F_GETFL);
      int fd_flags = fcntl(fd, F_GETFD);
      c.record.fd = fd;
      c.record.open_flags = static_cast<uint32_t>(open_flags);
      c.record.fd_flags = static_cast<uint32_t>(fd_flags);
      c.record.inode = st.st_ino;
      c.record.dev = st.st_dev;
      c.record.mode = st.st_mode;
      c.record.file_size = static_cast<uint64_t>(st.st_size);
      c.record.path_len = static_cast<uint32_t>(path_len);
      c.path = path;
      image::FdKind kind = classify(fd, st, open_flags, path);
      c.record.kind = static_cast<uint32_t>(kind);
      off_t offset = lseek(fd, 0, SEEK_CUR);
      c.record.offset = offset < 0 ? -1 : offset;
      if (kind == image::FdKind::Socket || kind == image::FdKind::Other) {
        if (!allow_unsupported) {
          say(why, why_size, "descriptor ", fd, " cannot be checkpointed yet: ", path);
          rc = -ENOTSUP;
          break;
        }
        c.record.kind = static_cast<uint32_t>(image::FdKind::Other);
      }
      if (kind == image::FdKind::PipeRead) {
        ssize_t n = peek_pipe(fd, pipe_probe, arena.data + data_used, arena.data_capacity - data_used);
        if (n < 0) {
          say(why, why_size, "cannot read the unread data of pipe descriptor ", fd, "", "");
          rc = -EIO;
          break;
        }
        if (n > 0) {
          c.has_data = true;
          c.data_offset = data_used;
          c.data_length = static_cast<uint64_t>(n);
          data_used += static_cast<size_t>(n);
          ++out.data_count;
        }
      }
      ++out.count;
    }
    if (rc != 0) {
      break;
    }
  }
  close(dir);
  return rc;
}

}  // namespace crcore::runtime
