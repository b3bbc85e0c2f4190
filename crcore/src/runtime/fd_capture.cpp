// File descriptor capture (see fd_capture.h). RESTRICTED CODE: syscalls and plain data only.
// Pipes: their unread bytes are copied with tee(2). Sockets: an unnamed AF_UNIX socketpair whose
// two ends are both in the process is recorded as two UnixPair ends (type and peer from
// getsockopt and sock_diag, queued bytes or messages copied with MSG_PEEK and SO_PEEK_OFF);
// every other socket is refused (or, allow_unsupported, kept as FdKind::Other).
#include "runtime/fd_capture.h"

#include "runtime/exclusions.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
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

void say(char* why, size_t size, const char* a, int fd, const char* b, const char* c, const char* d = "") {
  char number[24];
  append_decimal(number, static_cast<uint64_t>(fd));
  const char* parts[] = {a, number, b, c, d};
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
  // The probe must hold everything the pipe holds (a pipe may have been enlarged).
  int size = fcntl(fd, F_GETPIPE_SZ);
  if (size > 0 && fcntl(probe[1], F_GETPIPE_SZ) < size && fcntl(probe[1], F_SETPIPE_SZ, size) < 0) {
    return -1;
  }
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

// ---- Sockets: which ones are socketpair ends, and their queued data. ----

// What sock_diag says about one AF_UNIX socket.
struct SocketFacts {
  bool named;
  uint32_t peer_inode;  // 0: not connected (or its peer is closed)
  uint32_t shutdown;    // image::SocketShutdown bits
  uint32_t queued;      // bytes queued to read (stream, seqpacket; the first message's for dgram)
};

// Why a socket is not restorable, or nullptr.
const char* family_problem(int family) {
  switch (family) {
    case AF_UNIX:
      return nullptr;
    case AF_INET:
    case AF_INET6:
      return " (a TCP/IP socket: only AF_UNIX socketpairs are restored)";
    case AF_NETLINK:
      return " (a netlink socket: only AF_UNIX socketpairs are restored)";
    default:
      return " (not an AF_UNIX socket: only AF_UNIX socketpairs are restored)";
  }
}

int socket_option(int fd, int option, int& value) {
  socklen_t len = sizeof value;
  return getsockopt(fd, SOL_SOCKET, option, &value, &len) == 0 ? 0 : -errno;
}

// Asks sock_diag (a NETLINK_SOCK_DIAG socket) about the AF_UNIX socket `inode`. 0 or -errno.
// The kernel answers while sendto() runs, so the reply is read without waiting.
int unix_diag(int diag, uint32_t inode, char* buf, size_t capacity, SocketFacts& facts) {
  struct {
    struct nlmsghdr header;
    struct unix_diag_req request;
  } message;
  memset(&message, 0, sizeof message);
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.header.nlmsg_seq = inode;
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0u;
  message.request.udiag_ino = inode;
  message.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
  message.request.udiag_cookie[0] = message.request.udiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(diag, &message, sizeof message, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return -errno;
  }
  do {
    n = recv(diag, buf, capacity, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return -errno;
  }
  auto* reply = reinterpret_cast<struct nlmsghdr*>(buf);
  size_t size = static_cast<size_t>(n);
  for (; NLMSG_OK(reply, size); reply = NLMSG_NEXT(reply, size)) {
    if (reply->nlmsg_seq != inode) {
      continue;
    }
    if (reply->nlmsg_type == NLMSG_ERROR) {
      auto* error = static_cast<struct nlmsgerr*>(NLMSG_DATA(reply));
      return error->error != 0 ? error->error : -EPROTO;
    }
    if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY || reply->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg))) {
      continue;
    }
    auto* msg = static_cast<struct unix_diag_msg*>(NLMSG_DATA(reply));
    if (msg->udiag_ino != inode) {
      continue;
    }
    facts.named = false;
    facts.peer_inode = 0;
    facts.shutdown = 0;
    facts.queued = 0;
    auto* attribute = reinterpret_cast<struct rtattr*>(msg + 1);
    unsigned int left = reply->nlmsg_len - NLMSG_LENGTH(sizeof *msg);
    for (; RTA_OK(attribute, left); attribute = RTA_NEXT(attribute, left)) {
      size_t payload = RTA_PAYLOAD(attribute);
      switch (attribute->rta_type) {
        case UNIX_DIAG_NAME:
          facts.named = true;
          break;
        case UNIX_DIAG_PEER:
          if (payload >= sizeof(uint32_t)) {
            memcpy(&facts.peer_inode, RTA_DATA(attribute), sizeof(uint32_t));
          }
          break;
        case UNIX_DIAG_RQLEN:
          if (payload >= sizeof(struct unix_diag_rqlen)) {
            struct unix_diag_rqlen rq;
            memcpy(&rq, RTA_DATA(attribute), sizeof rq);
            facts.queued = rq.udiag_rqueue;
          }
          break;
        case UNIX_DIAG_SHUTDOWN:
          if (payload >= 1) {
            facts.shutdown =
                *static_cast<const uint8_t*>(RTA_DATA(attribute)) & (image::kShutdownRead | image::kShutdownWrite);
          }
          break;
        default:
          break;
      }
    }
    return 0;
  }
  return -EPROTO;
}

// How copying a socket's queue went.
enum class PeekResult {
  Done,
  Attached,  // file descriptors or credentials ride along with the queued data (MSG_CTRUNC)
  NoOffset,  // the kernel cannot peek past the first message (SO_PEEK_OFF refused)
  TooLarge,  // the data pool is full
  Failed,    // recvmsg failed; errno says why
};

// Peeks (MSG_PEEK, never consuming) at `offset` bytes into the queue; -1 peeks at its head.
// Returns the byte count (for a message: its whole length, MSG_TRUNC), or -1 with errno set.
ssize_t peek_at(int fd, int offset, bool messages, char* out, size_t capacity, int& msg_flags, bool& offset_refused) {
  if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &offset, sizeof offset) != 0) {
    offset_refused = offset >= 0;
    if (offset_refused) {
      return -1;
    }
  }
  struct iovec iov = {out, capacity};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);  // no control buffer: passed descriptors are never installed here
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | (messages ? MSG_TRUNC : 0));
  } while (n < 0 && errno == EINTR);
  msg_flags = msg.msg_flags;
  return n;
}

// Copies the queue of a socketpair end into out without consuming it: the bytes of a stream, or
// each message of a dgram/seqpacket socket as an image::FdMessageHeader and its bytes. The
// socket's own peek offset (SO_PEEK_OFF) is put back as it was.
PeekResult peek_socket(int fd, int type, char* out, size_t capacity, size_t& used, uint64_t& payload) {
  int saved_offset = -1;
  bool had_offset = socket_option(fd, SO_PEEK_OFF, saved_offset) == 0;
  bool messages = type != SOCK_STREAM;
  PeekResult result = PeekResult::Done;
  used = 0;
  payload = 0;
  for (;;) {
    size_t header = messages ? sizeof(image::FdMessageHeader) : 0;
    if (capacity - used <= header || payload > static_cast<uint64_t>(INT32_MAX)) {
      result = PeekResult::TooLarge;
      break;
    }
    // A message socket's first message is read without an offset: an empty datagram the
    // application peeked at already would be skipped by an offset of 0.
    int offset = messages && used == 0 ? -1 : static_cast<int>(payload);
    int flags = 0;
    bool refused = false;
    ssize_t n = peek_at(fd, offset, messages, out + used + header, capacity - used - header, flags, refused);
    if (n < 0) {
      result = refused ? PeekResult::NoOffset : errno == EAGAIN ? PeekResult::Done : PeekResult::Failed;
      break;
    }
    if ((flags & MSG_CTRUNC) != 0) {
      result = PeekResult::Attached;
      break;
    }
    if (n == 0 && !messages) {
      break;  // end of stream: the peer shut down writing and nothing is left
    }
    if (static_cast<size_t>(n) > capacity - used - header) {
      result = PeekResult::TooLarge;
      break;
    }
    if (messages) {
      image::FdMessageHeader m{static_cast<uint32_t>(n)};
      memcpy(out + used, &m, sizeof m);
    }
    used += header + static_cast<size_t>(n);
    payload += static_cast<uint64_t>(n);
  }
  int errno_saved = errno;
  if (had_offset) {
    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &saved_offset, sizeof saved_offset);
  }
  errno = errno_saved;
  return result;
}

// A descriptor crcore cannot restore, kept (allow_unsupported) as FdKind::Other: /dev/null at restart.
void unsupported(CapturedFd& c, FdCapture& out) {
  c.record.kind = static_cast<uint32_t>(image::FdKind::Other);
  c.record.peer_inode = 0;
  c.record.socket_type = c.record.shutdown = c.record.send_buffer = c.record.receive_buffer = 0;
  if (c.has_data) {
    c.has_data = false;
    --out.data_count;
  }
}

// Whether the peer of socketpair end c is among the first `count` descriptors and connected back.
bool peer_in_image(const CaptureArena& arena, uint32_t count, const CapturedFd& c) {
  for (uint32_t j = 0; j < count; ++j) {
    const image::FdRecord& p = arena.fds[j].record;
    if (static_cast<image::FdKind>(p.kind) == image::FdKind::UnixPair && p.inode == c.record.peer_inode &&
        p.peer_inode == c.record.inode && p.socket_type == c.record.socket_type) {
      return true;
    }
  }
  return false;
}

// Descriptor `index` of the arena is a socket: makes it a UnixPair (socket fields filled, its
// queue copied into the data pool once per socket) and returns nullptr, or returns why crcore
// cannot restore it (" (...)", to follow its path). A hard failure sets rc and why instead.
// diag is the sock_diag socket, opened on first use.
const char* inspect_socket(CaptureArena& arena, uint32_t index, int& diag, size_t& data_used, uint32_t& data_count,
                           int& rc, char* why, size_t why_size) {
  CapturedFd& c = arena.fds[index];
  int fd = c.record.fd;
  for (uint32_t j = 0; j < index; ++j) {
    const image::FdRecord& other = arena.fds[j].record;
    if (other.inode == c.record.inode && other.dev == c.record.dev) {
      // Another descriptor of this socket (dup): described, and its queue copied, already.
      if (static_cast<image::FdKind>(other.kind) != image::FdKind::UnixPair) {
        return " (another descriptor of this socket cannot be restored)";
      }
      c.record.kind = other.kind;
      c.record.peer_inode = other.peer_inode;
      c.record.socket_type = other.socket_type;
      c.record.shutdown = other.shutdown;
      c.record.send_buffer = other.send_buffer;
      c.record.receive_buffer = other.receive_buffer;
      return nullptr;
    }
  }
  int family = 0;
  int type = 0;
  if (socket_option(fd, SO_DOMAIN, family) != 0 || socket_option(fd, SO_TYPE, type) != 0) {
    return " (cannot read its domain and type)";
  }
  if (const char* problem = family_problem(family)) {
    return problem;
  }
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
    return " (an AF_UNIX socket of a type other than stream, dgram and seqpacket)";
  }
  if (diag < 0) {
    diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag < 0) {
      return " (cannot inspect it: no NETLINK_SOCK_DIAG socket)";
    }
  }
  SocketFacts facts{};
  if (c.record.inode > UINT32_MAX ||
      unix_diag(diag, static_cast<uint32_t>(c.record.inode), arena.diag, arena.diag_capacity, facts) != 0) {
    return " (cannot inspect it: sock_diag does not describe it; is the kernel's unix_diag available?)";
  }
  if (facts.named) {
    return " (a named AF_UNIX socket: only unnamed socketpairs are restored)";
  }
  if (facts.peer_inode == 0) {
    return " (an AF_UNIX socket that is not connected, or whose peer is closed)";
  }
  int send_buffer = 0;
  int receive_buffer = 0;
  socket_option(fd, SO_SNDBUF, send_buffer);
  socket_option(fd, SO_RCVBUF, receive_buffer);
  c.record.kind = static_cast<uint32_t>(image::FdKind::UnixPair);
  c.record.peer_inode = facts.peer_inode;
  c.record.socket_type = static_cast<uint32_t>(type);
  c.record.shutdown = facts.shutdown;
  c.record.send_buffer = static_cast<uint32_t>(send_buffer > 0 ? send_buffer : 0);
  c.record.receive_buffer = static_cast<uint32_t>(receive_buffer > 0 ? receive_buffer : 0);
  size_t used = 0;
  uint64_t payload = 0;
  switch (peek_socket(fd, type, arena.data + data_used, arena.data_capacity - data_used, used, payload)) {
    case PeekResult::Done:
      break;
    case PeekResult::Attached:
      return " (file descriptors or credentials are queued in it with the data)";
    case PeekResult::NoOffset:
      return " (this kernel cannot peek past the first message in its queue: SO_PEEK_OFF)";
    case PeekResult::TooLarge:
      say(why, why_size, "the unread data of socket descriptor ", fd, " does not fit the checkpoint's buffer", "");
      rc = -ENOBUFS;
      return nullptr;
    case PeekResult::Failed:
      say(why, why_size, "cannot read the unread data of socket descriptor ", fd, "", "");
      rc = errno != 0 ? -errno : -EIO;
      return nullptr;
  }
  if (type != SOCK_DGRAM && payload != facts.queued) {
    say(why, why_size, "cannot read all the unread data of socket descriptor ", fd, " (the queue changed?)", "");
    rc = -EIO;
    return nullptr;
  }
  if (used > 0) {
    c.has_data = true;
    c.data_offset = data_used;
    c.data_length = used;
    data_used += used;
    ++data_count;
  }
  return nullptr;
}

}  // namespace

int capture_fds(CaptureArena& arena, const FdExclusions& exclude, const int pipe_probe[2], bool allow_unsupported,
                FdCapture& out, char* why, size_t why_size) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return -errno;
  }
  out = FdCapture{};
  int diag = -1;                                     // NETLINK_SOCK_DIAG, opened at the first socket
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
      if (fd == dir || fd == diag || excluded(exclude, fd) || fd == pipe_probe[0] || fd == pipe_probe[1]) {
        continue;
      }
      if (out.count >= arena.fd_capacity) {
        rc = -E2BIG;
        break;
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
      if (fd_excluded(fd, st.st_dev, st.st_ino)) {
        continue;  // a lower half's descriptor (crcore_ext.h)
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
      const char* problem = kind == image::FdKind::Other ? "" : nullptr;
      if (kind == image::FdKind::Socket) {
        problem = inspect_socket(arena, out.count, diag, data_used, out.data_count, rc, why, why_size);
        if (rc != 0) {
          break;
        }
      }
      if (problem != nullptr) {
        if (!allow_unsupported) {
          say(why, why_size, "descriptor ", fd, " cannot be checkpointed yet: ", path, problem);
          rc = -ENOTSUP;
          break;
        }
        unsupported(c, out);
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
  if (diag >= 0) {
    close(diag);
  }
  // A socketpair end is restorable when its peer is too, and connected back to it.
  for (uint32_t i = 0; rc == 0 && i < out.count; ++i) {
    CapturedFd& c = arena.fds[i];
    if (static_cast<image::FdKind>(c.record.kind) != image::FdKind::UnixPair || peer_in_image(arena, out.count, c)) {
      continue;
    }
    if (!allow_unsupported) {
      char peer[48] = " (its peer, socket:[";
      append_decimal(peer + strlen(peer), c.record.peer_inode);
      say(why, why_size, "descriptor ", c.record.fd, " cannot be checkpointed yet: ", c.path, peer);
      size_t used = strlen(why);
      const char* tail = "], is not in this process)";
      size_t n = strlen(tail);
      if (used + n < why_size) {
        memcpy(why + used, tail, n + 1);
      }
      rc = -ENOTSUP;
      break;
    }
    unsupported(c, out);
  }
  return rc;
}

}  // namespace crcore::runtime
