// crcore_ext.h: the exclusion tables. Async-signal-safe throughout: no allocation, no stdio, a spin
// lock that is only ever held for a table copy or update.
#include "runtime/exclusions.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <sched.h>
#include "crcore_ext.h"

namespace crcore::runtime {
namespace {

struct ExcludedThread {
  pid_t tid;
  uint64_t start_time;
};

struct ExcludedFd {
  int fd;
  uint64_t dev;
  uint64_t inode;
};

std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
ExcludedRange g_ranges[kMaxExcludedRanges];
size_t g_range_count = 0;
ExcludedThread g_threads[kMaxExcludedThreads];
size_t g_thread_count = 0;
ExcludedFd g_fds[kMaxExcludedFds];
size_t g_fd_count = 0;

const char* g_environment = nullptr;
size_t g_environment_length = 0;

class SpinGuard {
 public:
  // Bounded: in the copy-on-write writer (a clone with no other thread) a lock a lower-half thread
  // held at the moment of the clone is never released; the tables are then read as they are.
  SpinGuard() {
    for (int tries = 0; g_lock.test_and_set(std::memory_order_acquire); ++tries) {
      if (tries > 100000) {
        owned_ = false;
        return;
      }
      sched_yield();
    }
  }
  ~SpinGuard() {
    if (owned_) {
      g_lock.clear(std::memory_order_release);
    }
  }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  bool owned_ = true;
};

constexpr uint64_t kPage = 4096;

// Field 22 of /proc/self/task/TID/stat (start time in clock ticks), 0 if the thread is gone.
uint64_t thread_start_time(pid_t tid) {
  char path[64] = "/proc/self/task/";
  size_t n = strlen(path);
  char digits[16];
  int d = 0;
  for (pid_t v = tid; v > 0; v /= 10) {
    digits[d++] = static_cast<char>('0' + v % 10);
  }
  while (d > 0) {
    path[n++] = digits[--d];
  }
  memcpy(path + n, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  char buf[512];
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) {
    return 0;
  }
  buf[got] = '\0';
  const char* p = strrchr(buf, ')');
  if (p == nullptr) {
    return 0;
  }
  // After ") " come fields 3.. ; field 22 is the 20th of them.
  int field = 2;
  for (++p; *p != '\0' && field < 22; ++p) {
    if (*p == ' ') {
      ++field;
    }
  }
  uint64_t value = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    value = value * 10 + static_cast<uint64_t>(*p - '0');
  }
  return value;
}

// Removes [start, end) from the range table (its ranges are disjoint, so at most one of them
// straddles the hole and is split in two). Lock held.
int remove_range(uint64_t start, uint64_t end) {
  ExcludedRange right{0, 0};
  size_t kept = 0;
  for (size_t i = 0; i < g_range_count; ++i) {
    ExcludedRange r = g_ranges[i];
    if (r.end <= start || end <= r.start) {
      g_ranges[kept++] = r;
      continue;
    }
    if (r.start < start) {
      g_ranges[kept++] = {r.start, start};
    }
    if (end < r.end) {
      right = {end, r.end};
    }
  }
  g_range_count = kept;
  if (right.end != 0) {
    if (g_range_count >= kMaxExcludedRanges) {
      return -ENOSPC;
    }
    g_ranges[g_range_count++] = right;
  }
  return 0;
}

}  // namespace

size_t excluded_ranges(ExcludedRange* out, size_t capacity) {
  size_t n = 0;
  {
    SpinGuard guard;
    for (size_t i = 0; i < g_range_count && n < capacity; ++i) {
      out[n++] = g_ranges[i];
    }
  }
  // Insertion sort (small tables, no allocation), then merge neighbours.
  for (size_t i = 1; i < n; ++i) {
    ExcludedRange v = out[i];
    size_t j = i;
    while (j > 0 && out[j - 1].start > v.start) {
      out[j] = out[j - 1];
      --j;
    }
    out[j] = v;
  }
  size_t merged = 0;
  for (size_t i = 0; i < n; ++i) {
    if (merged > 0 && out[i].start <= out[merged - 1].end) {
      if (out[i].end > out[merged - 1].end) {
        out[merged - 1].end = out[i].end;
      }
    } else {
      out[merged++] = out[i];
    }
  }
  return merged;
}

bool address_excluded(uint64_t address) {
  SpinGuard guard;
  for (size_t i = 0; i < g_range_count; ++i) {
    if (g_ranges[i].start <= address && address < g_ranges[i].end) {
      return true;
    }
  }
  return false;
}

bool thread_excluded(pid_t tid) {
  uint64_t recorded = 0;
  {
    SpinGuard guard;
    for (size_t i = 0; i < g_thread_count; ++i) {
      if (g_threads[i].tid == tid) {
        recorded = g_threads[i].start_time;
        break;
      }
    }
  }
  return recorded != 0 && thread_start_time(tid) == recorded;
}

bool fd_excluded(int fd, uint64_t dev, uint64_t inode) {
  SpinGuard guard;
  for (size_t i = 0; i < g_fd_count; ++i) {
    if (g_fds[i].fd == fd) {
      return g_fds[i].dev == dev && g_fds[i].inode == inode;
    }
  }
  return false;
}

void forget_exclusions() {
  SpinGuard guard;
  g_range_count = 0;
  g_thread_count = 0;
  g_fd_count = 0;
}

void adopt_restart_environment(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    size_t length = static_cast<size_t>(st.st_size);
    void* copy = mmap(nullptr, length + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy != MAP_FAILED) {
      size_t done = 0;
      while (done < length) {
        ssize_t got = pread(fd, static_cast<char*>(copy) + done, length - done, static_cast<off_t>(done));
        if (got <= 0) {
          break;
        }
        done += static_cast<size_t>(got);
      }
      if (done == length) {
        if (g_environment != nullptr) {
          munmap(const_cast<char*>(g_environment), g_environment_length + 1);
        }
        g_environment = static_cast<const char*>(copy);
        g_environment_length = length;
      } else {
        munmap(copy, length + 1);
      }
    }
  }
  close(fd);
}

}  // namespace crcore::runtime

using namespace crcore::runtime;

extern "C" int crcore_exclude_memory(const void* start, size_t length) {
  uint64_t s = reinterpret_cast<uint64_t>(start) & ~(kPage - 1);
  uint64_t e = (reinterpret_cast<uint64_t>(start) + length + kPage - 1) & ~(kPage - 1);
  if (length == 0) {
    return 0;
  }
  SpinGuard guard;
  int rc = remove_range(s, e);  // no duplicates: the table stays small
  if (rc != 0) {
    return rc;
  }
  if (g_range_count >= kMaxExcludedRanges) {
    return -ENOSPC;
  }
  g_ranges[g_range_count++] = {s, e};
  return 0;
}

extern "C" int crcore_include_memory(const void* start, size_t length) {
  uint64_t s = reinterpret_cast<uint64_t>(start) & ~(kPage - 1);
  uint64_t e = (reinterpret_cast<uint64_t>(start) + length + kPage - 1) & ~(kPage - 1);
  SpinGuard guard;
  return remove_range(s, e);
}

extern "C" int crcore_exclude_thread(pid_t tid) {
  uint64_t start_time = thread_start_time(tid);
  if (start_time == 0) {
    return -ESRCH;
  }
  SpinGuard guard;
  for (size_t i = 0; i < g_thread_count; ++i) {  // reuse the slot of a thread that is gone
    if (g_threads[i].tid == tid || thread_start_time(g_threads[i].tid) != g_threads[i].start_time) {
      g_threads[i] = {tid, start_time};
      return 0;
    }
  }
  if (g_thread_count >= kMaxExcludedThreads) {
    return -ENOSPC;
  }
  g_threads[g_thread_count++] = {tid, start_time};
  return 0;
}

extern "C" int crcore_exclude_fd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return -errno;
  }
  SpinGuard guard;
  for (size_t i = 0; i < g_fd_count; ++i) {
    if (g_fds[i].fd == fd) {
      g_fds[i] = {fd, st.st_dev, st.st_ino};
      return 0;
    }
  }
  if (g_fd_count >= kMaxExcludedFds) {
    return -ENOSPC;
  }
  g_fds[g_fd_count++] = {fd, st.st_dev, st.st_ino};
  return 0;
}

extern "C" int crcore_include_fd(int fd) {
  SpinGuard guard;
  for (size_t i = 0; i < g_fd_count; ++i) {
    if (g_fds[i].fd == fd) {
      g_fds[i] = g_fds[--g_fd_count];
      return 0;
    }
  }
  return 0;
}

extern "C" const char* crcore_restart_environment(size_t* length) {
  if (length != nullptr) {
    *length = g_environment_length;
  }
  return g_environment;
}
