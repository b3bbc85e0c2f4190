// Resource restoration (see resource_restore.h).
#include "restart/resource_restore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <asm/termbits.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "image/kind_names.h"
#include "restart/sysv_ipc_restore.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

namespace crcore::restart {
namespace {

std::string descriptor(int fd) { return "descriptor " + std::to_string(fd); }

[[noreturn]] void fail(int fd, const std::string& what) {
  throw RestartError(descriptor(fd) + ": " + what + (errno != 0 ? std::string(": ") + strerror(errno) : ""));
}

// The value after `key` on the first line that has it ("eventfd-count:", ...), or "".
std::string field(std::string_view text, std::string_view key) {
  size_t at = text.find(key);
  if (at == std::string_view::npos) {
    return "";
  }
  at += key.size();
  while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) {
    ++at;
  }
  size_t end = text.find('\n', at);
  return std::string(text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
}

uint64_t number(const std::string& s, int base) { return s.empty() ? 0 : std::stoull(s, nullptr, base); }

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

const image::ResourceEntry& one(const image::Image& image, image::ResourceType type, int fd) {
  auto all = resources_of(image, type, fd);
  if (all.empty()) {
    errno = 0;
    fail(fd, std::string("the image has no ") + std::string(image::resource_type_name(type)) + " record for it");
  }
  return *all.front();
}

int open_eventfd(const image::Image& image, const image::FdRecord& r) {
  std::string_view info = one(image, image::ResourceType::FdInfo, r.fd).text();
  uint64_t count = number(field(info, "eventfd-count:"), 16);
  int flags = EFD_CLOEXEC | ((r.open_flags & O_NONBLOCK) != 0 ? EFD_NONBLOCK : 0);
  if (field(info, "eventfd-semaphore:") == "1") {
    flags |= EFD_SEMAPHORE;
  }
  int fd = eventfd(0, flags);
  if (fd < 0) {
    fail(r.fd, "cannot create an eventfd");
  }
  if (count > 0 && write(fd, &count, sizeof count) != sizeof count) {
    fail(r.fd, "cannot set its eventfd count");
  }
  return fd;
}

// "(sec, nsec)" of a timerfd's fdinfo.
struct timespec pair_time(const std::string& s) {
  struct timespec t {};
  unsigned long long sec = 0, nsec = 0;
  if (sscanf(s.c_str(), "(%llu, %llu)", &sec, &nsec) == 2) {
    t.tv_sec = static_cast<time_t>(sec);
    t.tv_nsec = static_cast<long>(nsec);
  }
  return t;
}

int open_timerfd(const image::Image& image, const image::FdRecord& r) {
  std::string_view info = one(image, image::ResourceType::FdInfo, r.fd).text();
  int clock = static_cast<int>(number(field(info, "clockid:"), 10));
  uint64_t ticks = number(field(info, "ticks:"), 10);
  struct itimerspec spec {};
  spec.it_value = pair_time(field(info, "it_value:"));
  spec.it_interval = pair_time(field(info, "it_interval:"));
  int fd = timerfd_create(clock, TFD_CLOEXEC | ((r.open_flags & O_NONBLOCK) != 0 ? TFD_NONBLOCK : 0));
  if (fd < 0) {
    fail(r.fd, "cannot create a timerfd on clock " + std::to_string(clock));
  }
  // A periodic timer that expired and has not been read yet shows no time left (the kernel moves
  // it on when it is read): it comes back one interval from now.
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) {
    spec.it_value = spec.it_interval;
  }
  // The time left at the checkpoint, from now (relative): a timer does not run while no process has it.
  if ((spec.it_value.tv_sec != 0 || spec.it_value.tv_nsec != 0) && timerfd_settime(fd, 0, &spec, nullptr) != 0) {
    fail(r.fd, "cannot arm its timerfd");
  }
  if (ticks > 0 && ioctl(fd, TFD_IOC_SET_TICKS, &ticks) != 0) {
    fail(r.fd, "cannot put back its " + std::to_string(ticks) + " unread expirations (TFD_IOC_SET_TICKS)");
  }
  return fd;
}

int open_signalfd(const image::Image& image, const image::FdRecord& r) {
  std::string_view info = one(image, image::ResourceType::FdInfo, r.fd).text();
  uint64_t bits = number(field(info, "sigmask:"), 16);
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig <= 64; ++sig) {
    if ((bits & (uint64_t{1} << (sig - 1))) != 0) {
      sigaddset(&set, sig);
    }
  }
  int fd = signalfd(-1, &set, SFD_CLOEXEC | ((r.open_flags & O_NONBLOCK) != 0 ? SFD_NONBLOCK : 0));
  if (fd < 0) {
    fail(r.fd, "cannot create a signalfd");
  }
  return fd;
}

// A mount point of the file system whose kernel device number (MAJOR << 20 | MINOR) is dev.
std::string mount_of(uint64_t dev) {
  std::ifstream in("/proc/self/mountinfo");
  std::string want = std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string id, parent, devno, root, point;
    words >> id >> parent >> devno >> root >> point;
    if (devno == want && root == "/") {
      return point;
    }
  }
  return "";
}

// Reopens an inotify watch's inode from its file handle (fhandle-bytes, fhandle-type, f_handle).
int open_watched(const std::string& line, int owner) {
  auto value = [&](const char* key) { return field(line, key).substr(0, field(line, key).find(' ')); };
  uint64_t sdev = number(value("sdev:"), 16);
  unsigned bytes = static_cast<unsigned>(number(value("fhandle-bytes:"), 16));
  int type = static_cast<int>(number(value("fhandle-type:"), 16));
  std::string hex = value("f_handle:");
  if (bytes == 0 || hex.size() < 2 * bytes || bytes > 128) {
    errno = 0;
    fail(owner, "an inotify watch without a file handle: " + line);
  }
  std::vector<unsigned char> storage(sizeof(struct file_handle) + bytes);
  auto* handle = reinterpret_cast<struct file_handle*>(storage.data());
  handle->handle_bytes = bytes;
  handle->handle_type = type;
  for (unsigned i = 0; i < bytes; ++i) {
    handle->f_handle[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  std::string mount = mount_of(sdev);
  int mount_fd = ::open(mount.empty() ? "/" : mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = mount_fd < 0 ? -1 : open_by_handle_at(mount_fd, handle, O_PATH | O_CLOEXEC);
  int saved = errno;
  if (mount_fd >= 0) {
    close(mount_fd);
  }
  if (fd < 0) {
    errno = saved;
    fail(owner, "cannot find the file an inotify watch was on (deleted? open_by_handle_at on " +
                    (mount.empty() ? std::string("/") : mount) + ")");
  }
  return fd;
}

void drain(int fd) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  fcntl(fd, F_SETFL, flags);
}

int open_inotify(const image::Image& image, const image::FdRecord& r) {
  std::string_view info = one(image, image::ResourceType::FdInfo, r.fd).text();
  int fd = inotify_init1(IN_CLOEXEC | ((r.open_flags & O_NONBLOCK) != 0 ? IN_NONBLOCK : 0));
  if (fd < 0) {
    fail(r.fd, "cannot create an inotify instance");
  }
  struct Watch {
    int wd;
    uint32_t mask;
    std::string line;
  };
  std::vector<Watch> watches;
  for (const std::string& line : lines(info)) {
    if (line.rfind("inotify wd:", 0) == 0) {
      std::string wd = field(line, "wd:");
      std::string mask = field(line, "mask:");
      watches.push_back({static_cast<int>(number(wd.substr(0, wd.find(' ')), 16)),
                         static_cast<uint32_t>(number(mask.substr(0, mask.find(' ')), 16)), line});
    }
  }
  std::sort(watches.begin(), watches.end(), [](const Watch& a, const Watch& b) { return a.wd < b.wd; });
  // Watch descriptors are handed out in increasing order: a gap is skipped by adding a watch on
  // a scratch memfd and removing it again (its IN_IGNORED event is drained).
  int next = 1;  // a new instance's first watch descriptor
  for (const Watch& w : watches) {
    int target = open_watched(w.line, r.fd);
    std::string path = "/proc/self/fd/" + std::to_string(target);
    for (int guard = 0; next < w.wd && guard < 100000; ++guard) {
      int scratch = memfd_create("crcore-inotify-gap", MFD_CLOEXEC);
      std::string scratch_path = "/proc/self/fd/" + std::to_string(scratch);
      int probe = inotify_add_watch(fd, scratch_path.c_str(), IN_OPEN);
      close(scratch);
      if (probe < 0) {
        fail(r.fd, "cannot restore inotify watch descriptor " + std::to_string(w.wd));
      }
      inotify_rm_watch(fd, probe);
      drain(fd);
      next = probe + 1;
    }
    // mask holds the event bits and the watch's flags (IN_ONESHOT, IN_EXCL_UNLINK, ...).
    int wd = inotify_add_watch(fd, path.c_str(), w.mask & ~uint32_t{IN_IGNORED});
    close(target);
    next = wd + 1;
    if (wd != w.wd) {
      errno = 0;
      fail(r.fd, "inotify watch descriptor " + std::to_string(w.wd) + " came back as " + std::to_string(wd));
    }
  }
  return fd;
}

std::string strip_deleted(const std::string& path) {
  const std::string tail = " (deleted)";
  if (path.size() > tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0) {
    return path.substr(0, path.size() - tail.size());
  }
  return path;
}

void write_contents(int fd, const image::ResourceEntry& contents, int owner) {
  size_t done = 0;
  while (done < contents.bytes.size()) {
    ssize_t n = pwrite(fd, contents.bytes.data() + done, contents.bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      fail(owner, "cannot write back its saved contents");
    }
    done += static_cast<size_t>(n);
  }
}

int open_memfd(const image::Image& image, const image::FdEntry& f) {
  const image::FdRecord& r = f.record;
  std::string name = strip_deleted(f.path).substr(7);  // after "/memfd:"
  int seals = static_cast<int>(number(field(one(image, image::ResourceType::FdInfo, r.fd).text(), "seals:"), 10));
  bool sealing = seals != F_SEAL_SEAL;  // F_SEAL_SEAL alone: created without MFD_ALLOW_SEALING
  int fd = static_cast<int>(syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC | (sealing ? MFD_ALLOW_SEALING : 0)));
  if (fd < 0) {
    fail(r.fd, "cannot create memfd " + name);
  }
  write_contents(fd, one(image, image::ResourceType::FileContents, r.fd), r.fd);
  if (ftruncate(fd, static_cast<off_t>(r.file_size)) != 0) {
    fail(r.fd, "cannot size memfd " + name);
  }
  if (sealing && seals != 0 && fcntl(fd, F_ADD_SEALS, seals) != 0) {
    fail(r.fd, "cannot seal memfd " + name);
  }
  return fd;
}

// A deleted file comes back as an unnamed file (O_TMPFILE) in its old directory, or in /tmp.
int open_deleted(const image::Image& image, const image::FdEntry& f, const RestartOptions& options) {
  const image::FdRecord& r = f.record;
  std::string path = relocate(strip_deleted(f.path), options);
  std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  int tmp = ::open(dir.empty() ? "/" : dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, r.mode & 07777);
  if (tmp < 0) {
    tmp = ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, r.mode & 07777);
  }
  if (tmp < 0) {
    fail(r.fd, "cannot create an unnamed file for deleted " + path);
  }
  write_contents(tmp, one(image, image::ResourceType::FileContents, r.fd), r.fd);
  if (ftruncate(tmp, static_cast<off_t>(r.file_size)) != 0) {
    fail(r.fd, "cannot size the file standing for deleted " + path);
  }
  // Reopened with the descriptor's own access mode and flags.
  std::string self = "/proc/self/fd/" + std::to_string(tmp);
  int flags = static_cast<int>(r.open_flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
  int fd = ::open(self.c_str(), flags | O_CLOEXEC);
  close(tmp);
  if (fd < 0) {
    fail(r.fd, "cannot reopen the file standing for deleted " + path);
  }
  return fd;
}

// A named AF_UNIX socket: bound again to its path (a stale socket file left by the checkpointed
// process is removed first), listening with its backlog, or refilled with its queued datagrams.
int open_named_socket(const image::Image& image, const image::FdEntry& f, const RestartOptions& options) {
  const image::FdRecord& r = f.record;
  std::string_view info = one(image, image::ResourceType::FdInfo, r.fd).text();
  std::string path = relocate(field(info, "name:"), options);
  int type = static_cast<int>(number(field(info, "type:"), 10));
  int backlog = static_cast<int>(number(field(info, "backlog:"), 10));
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    errno = 0;
    fail(r.fd, "socket name '" + path + "' cannot be bound");
  }
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | ((r.open_flags & O_NONBLOCK) != 0 ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    fail(r.fd, "cannot create a socket");
  }
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(path.c_str());  // the checkpointed process's socket file: nobody listens on it any more
  }
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) != 0) {
    fail(r.fd, "cannot bind its socket to " + path);
  }
  if (static_cast<image::FdKind>(r.kind) == image::FdKind::UnixListen) {
    if (listen(fd, backlog > 0 ? backlog : 1) != 0) {
      fail(r.fd, "cannot listen on " + path);
    }
    return fd;
  }
  for (const auto& d : image.fd_data) {
    if (d.inode != r.inode) {
      continue;
    }
    int sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (const auto& m : d.messages) {
      if (sendto(sender, m.data(), m.size(), MSG_DONTWAIT, reinterpret_cast<struct sockaddr*>(&address),
                 sizeof address) != static_cast<ssize_t>(m.size())) {
        fail(r.fd, "cannot put back a queued datagram");
      }
    }
    close(sender);
  }
  return fd;
}

}  // namespace

std::vector<const image::ResourceEntry*> resources_of(const image::Image& image, image::ResourceType type, int fd) {
  std::vector<const image::ResourceEntry*> out;
  for (const auto& e : image.resources) {
    if (e.header.type == static_cast<uint32_t>(type) && e.header.fd == fd) {
      out.push_back(&e);
    }
  }
  return out;
}

ResourceFds::~ResourceFds() {
  for (const auto& [path, fd] : fifo_holders_) {
    close(fd);
  }
  for (const auto& [index, fd] : pty_masters_) {
    close(fd);
  }
}

// The new pty standing for the image's pty `index`, made on first use.
int ResourceFds::pty_master(int index, int owner) {
  auto it = pty_masters_.find(index);
  if (it != pty_masters_.end()) {
    return it->second;
  }
  int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 || grantpt(fd) != 0 || unlockpt(fd) != 0) {
    fail(owner, "cannot create a pseudo-terminal");
  }
  int high = fcntl(fd, F_DUPFD_CLOEXEC, floor_);
  close(fd);
  if (high < 0) {
    fail(owner, "cannot keep a pseudo-terminal open");
  }
  pty_masters_.emplace(index, high);
  return high;
}

int ResourceFds::open(const image::FdEntry& f, const RestartOptions& options) {
  const image::FdRecord& r = f.record;
  errno = 0;
  switch (static_cast<image::FdKind>(r.kind)) {
    case image::FdKind::EventFd:
      return open_eventfd(image_, r);
    case image::FdKind::TimerFd:
      return open_timerfd(image_, r);
    case image::FdKind::SignalFd:
      return open_signalfd(image_, r);
    case image::FdKind::Epoll: {
      int fd = epoll_create1(EPOLL_CLOEXEC);  // its interest list once every descriptor is in place
      if (fd < 0) {
        fail(r.fd, "cannot create an epoll instance");
      }
      return fd;
    }
    case image::FdKind::Inotify:
      return open_inotify(image_, r);
    case image::FdKind::Memfd: {
      int fd = open_memfd(image_, f);
      if (r.offset >= 0) {
        lseek(fd, r.offset, SEEK_SET);
      }
      return fd;
    }
    case image::FdKind::DeletedFile: {
      int fd = open_deleted(image_, f, options);
      if (r.offset >= 0) {
        lseek(fd, r.offset, SEEK_SET);
      }
      return fd;
    }
    case image::FdKind::Fifo: {
      std::string path = relocate(f.path, options);
      auto holder = fifo_holders_.find(path);
      if (holder == fifo_holders_.end()) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0 && mkfifo(path.c_str(), r.mode & 07777) != 0) {
          fail(r.fd, "cannot recreate FIFO " + path);
        }
        // Opened read-write first: neither side blocks, and the saved bytes have a place to wait.
        int h = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (h < 0) {
          fail(r.fd, "cannot open FIFO " + path);
        }
        int high = fcntl(h, F_DUPFD_CLOEXEC, floor_);
        close(h);
        h = high;
        if (h < 0) {
          fail(r.fd, "cannot keep FIFO " + path + " open");
        }
        holder = fifo_holders_.emplace(path, h).first;
        for (const auto& d : image_.fd_data) {
          if (d.inode == r.inode) {
            if (d.bytes.size() > 65536) {
              fcntl(h, F_SETPIPE_SZ, static_cast<int>(d.bytes.size()));
            }
            if (write(h, d.bytes.data(), d.bytes.size()) != static_cast<ssize_t>(d.bytes.size())) {
              fail(r.fd, "cannot refill FIFO " + path);
            }
          }
        }
      }
      int flags = static_cast<int>(r.open_flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
      int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        fail(r.fd, "cannot open FIFO " + path);
      }
      fcntl(fd, F_SETFL, flags & (O_NONBLOCK | O_APPEND));
      return fd;
    }
    case image::FdKind::UnixListen:
    case image::FdKind::UnixBound:
      return open_named_socket(image_, f, options);
    case image::FdKind::PtyMaster:
    case image::FdKind::PtySlave: {
      int index =
          static_cast<int>(number(field(one(image_, image::ResourceType::FdInfo, r.fd).text(), "pty-index:"), 10));
      int master = pty_master(index, r.fd);
      int flags = static_cast<int>(r.open_flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
      int fd = -1;
      if (static_cast<image::FdKind>(r.kind) == image::FdKind::PtyMaster) {
        fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
        fcntl(fd, F_SETFL, flags & O_NONBLOCK);
      } else {
        char name[64];
        if (ptsname_r(master, name, sizeof name) != 0) {
          fail(r.fd, "cannot name the slave of a new pseudo-terminal");
        }
        fd = ::open(name, flags | O_NOCTTY | O_CLOEXEC);
      }
      if (fd < 0) {
        fail(r.fd, "cannot open a side of a new pseudo-terminal");
      }
      return fd;
    }
    default:
      errno = 0;
      fail(r.fd, std::string("kind ") + std::string(image::fd_kind_name(static_cast<image::FdKind>(r.kind))) +
                     " is not a resource descriptor");
  }
}

void restore_fd_details(const image::Image& image) {
  for (const auto& f : image.fds) {
    const image::FdRecord& r = f.record;
    errno = 0;
    auto kind = static_cast<image::FdKind>(r.kind);
    if (kind == image::FdKind::Epoll) {
      for (const std::string& line : lines(one(image, image::ResourceType::FdInfo, r.fd).text())) {
        if (line.rfind("tfd:", 0) != 0) {
          continue;
        }
        int target = 0;
        unsigned events = 0;
        unsigned long long data = 0;
        if (sscanf(line.c_str(), "tfd: %d events: %x data: %llx", &target, &events, &data) != 3) {
          fail(r.fd, "cannot parse its epoll interest: " + line);
        }
        struct epoll_event ev {};
        ev.events = events;
        ev.data.u64 = data;
        if (epoll_ctl(r.fd, EPOLL_CTL_ADD, target, &ev) != 0) {
          fail(r.fd, "cannot add descriptor " + std::to_string(target) + " to its epoll set");
        }
      }
    }
    for (const auto* info : resources_of(image, image::ResourceType::FdInfo, r.fd)) {
      for (const std::string& line : lines(info->text())) {
        // "lock:\t1: FLOCK  ADVISORY  WRITE 123 08:01:456 0 EOF"; "->" marks a waiter, not a holder.
        if (line.rfind("lock:", 0) != 0 || line.find("->") != std::string::npos) {
          continue;
        }
        char kind_word[16] = {0}, mode_word[16] = {0}, access[16] = {0}, end_word[32] = {0};
        long long pid = 0, start = 0;
        char dev[64] = {0};
        if (sscanf(line.c_str(), "lock: %*d: %15s %15s %15s %lld %63s %lld %31s", kind_word, mode_word, access, &pid,
                   dev, &start, end_word) != 7) {
          fail(r.fd, "cannot parse its lock: " + line);
        }
        bool write_lock = strcmp(access, "WRITE") == 0;
        int rc = 0;
        if (strcmp(kind_word, "FLOCK") == 0) {
          rc = flock(r.fd, (write_lock ? LOCK_EX : LOCK_SH) | LOCK_NB);
        } else if (strcmp(kind_word, "POSIX") == 0 || strcmp(kind_word, "OFDLCK") == 0) {
          struct flock l {};
          l.l_type = write_lock ? F_WRLCK : F_RDLCK;
          l.l_whence = SEEK_SET;
          l.l_start = start;
          l.l_len = strcmp(end_word, "EOF") == 0 ? 0 : std::stoll(end_word) - start + 1;
          rc = fcntl(r.fd, strcmp(kind_word, "POSIX") == 0 ? F_SETLK : F_OFD_SETLK, &l);
        } else {
          errno = 0;
          fail(r.fd, std::string("a ") + kind_word + " lock is not restored");
        }
        if (rc != 0) {
          fail(r.fd,
               std::string("cannot take its ") + kind_word + " " + access + " lock again (held by another process?)");
        }
      }
    }
    for (const auto* t : resources_of(image, image::ResourceType::Terminal, r.fd)) {
      image::TerminalResource term;
      memcpy(&term, t->bytes.data(), sizeof term);
      if (ioctl(r.fd, TCSETS2, term.termios) != 0) {
        fprintf(stderr, "cr_restart: warning: descriptor %d: cannot restore its terminal settings: %s\n", r.fd,
                strerror(errno));
      }
      struct winsize w {};
      w.ws_row = term.rows;
      w.ws_col = term.cols;
      w.ws_xpixel = term.xpixel;
      w.ws_ypixel = term.ypixel;
      if ((w.ws_row != 0 || w.ws_col != 0) && ioctl(r.fd, TIOCSWINSZ, &w) != 0) {
        fprintf(stderr, "cr_restart: warning: descriptor %d: cannot restore its window size: %s\n", r.fd,
                strerror(errno));
      }
    }
  }
}

namespace {

struct timespec from_ns(int64_t ns) {
  struct timespec t {};
  t.tv_sec = static_cast<time_t>(ns / 1000000000);
  t.tv_nsec = static_cast<long>(ns % 1000000000);
  return t;
}

void restore_posix_timers(const image::Image& image) {
  std::vector<image::PosixTimerResource> timers;
  for (const auto* e : resources_of(image, image::ResourceType::PosixTimer, -1)) {
    image::PosixTimerResource t;
    memcpy(&t, e->bytes.data(), sizeof t);
    timers.push_back(t);
  }
  if (timers.empty()) {
    return;
  }
  std::sort(timers.begin(), timers.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  // The program holds the ids: each timer is created with its own (Linux 6.15+), or, on an older
  // kernel, by creating timers in order until the ids match.
  bool by_id = prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) == 0;
  std::vector<int> scratch;
  for (const auto& t : timers) {
    struct sigevent ev {};
    ev.sigev_notify = t.notify == image::kTimerNotifyNone ? SIGEV_NONE : SIGEV_SIGNAL;
    ev.sigev_signo = t.signal;
    ev.sigev_value.sival_ptr = reinterpret_cast<void*>(t.value);
    int id = t.id;
    for (;;) {
      if (syscall(SYS_timer_create, t.clock, &ev, &id) != 0) {
        throw RestartError("POSIX timer " + std::to_string(t.id) + ": cannot create it: " + strerror(errno));
      }
      if (id == t.id || by_id || id > t.id) {
        break;
      }
      scratch.push_back(id);  // an id below the wanted one: deleted once all are made
      id = t.id;
    }
    if (id != t.id) {
      throw RestartError("POSIX timer " + std::to_string(t.id) + " came back as timer " + std::to_string(id) +
                         " (this kernel cannot choose timer ids: PR_TIMER_CREATE_RESTORE_IDS needs Linux 6.15)");
    }
    struct itimerspec spec {};
    spec.it_value = from_ns(t.value_ns);
    spec.it_interval = from_ns(t.interval_ns);
    if (t.value_ns > 0 && syscall(SYS_timer_settime, id, 0, &spec, nullptr) != 0) {
      throw RestartError("POSIX timer " + std::to_string(t.id) + ": cannot arm it: " + strerror(errno));
    }
  }
  for (int id : scratch) {
    syscall(SYS_timer_delete, id);
  }
  if (by_id) {
    prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
  }
}

}  // namespace

void restore_process_resources(const image::Image& image) {
  if ((image.header.flags & image::kFileScopeMember) == 0) {
    restore_sysv_objects({&image});  // a scope's are restored once for all its processes (tree_restore.cpp)
  }
  restore_posix_timers(image);
  for (const auto* e : resources_of(image, image::ResourceType::IntervalTimer, -1)) {
    image::IntervalTimerResource t;
    memcpy(&t, e->bytes.data(), sizeof t);
    struct itimerval v {};
    v.it_value.tv_sec = t.value_ns / 1000000000;
    v.it_value.tv_usec = (t.value_ns % 1000000000) / 1000;
    v.it_interval.tv_sec = t.interval_ns / 1000000000;
    v.it_interval.tv_usec = (t.interval_ns % 1000000000) / 1000;
    if (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0) {
      v.it_value.tv_usec = 1;  // it was about to fire
    }
    if (setitimer(static_cast<__itimer_which>(t.which), &v, nullptr) != 0) {
      throw RestartError("interval timer " + std::to_string(t.which) + ": cannot arm it: " + strerror(errno));
    }
  }
  for (const auto* e : resources_of(image, image::ResourceType::Prctl, -1)) {
    image::PrctlResource p;
    memcpy(&p, e->bytes.data(), sizeof p);
    if (p.pdeath_signal > 0) {
      prctl(PR_SET_PDEATHSIG, p.pdeath_signal, 0, 0, 0);
    }
    if (p.child_subreaper > 0) {
      prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    if (p.timer_slack_ns > 0) {
      prctl(PR_SET_TIMERSLACK, p.timer_slack_ns, 0, 0, 0);
    }
    if (p.dumpable >= 0) {
      prctl(PR_SET_DUMPABLE, p.dumpable, 0, 0, 0);
    }
    if (p.no_new_privs > 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      throw RestartError(std::string("cannot set no_new_privs again: ") + strerror(errno));
    }
  }
}

}  // namespace crcore::restart
