// Small syscall helpers for restricted code (signal handlers, the stopped-world writer).
// Everything here is async-signal-safe: plain syscalls, no allocation, no locks, no errno
// games beyond what syscall(2) does.
#pragma once

#include <asm/prctl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace crcore::runtime {

inline pid_t raw_gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

inline int raw_tgkill(pid_t tgid, pid_t tid, int sig) { return static_cast<int>(syscall(SYS_tgkill, tgid, tid, sig)); }

inline uint64_t raw_get_fs_base() {
  unsigned long base = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &base);
  return base;
}

inline uint64_t raw_get_gs_base() {
  unsigned long base = 0;
  syscall(SYS_arch_prctl, ARCH_GET_GS, &base);
  return base;
}

// Waits while *word == expected, at most timeout_ns (0: no limit). Spurious wake-ups happen.
inline void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns = 0) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ns != 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000ull);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000ull);
    tsp = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
}

inline void futex_wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr, nullptr, 0);
}

inline uint64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace crcore::runtime
