// Bare threads: raw clone() threads with a stack of their caller's and no TLS of their own, for code
// that may not call pthread_create (the image writer runs while the application's threads are
// stopped, one of them possibly inside glibc holding its locks, or in the copy-on-write child of a
// multithreaded process). Used by the image writer's workers (zstd_workspace.h, hash_ahead.h) and
// the copy-on-write writer's smaps reader (runtime/smaps_prefetch.h).
//
// A bare thread shares its creator's thread pointer, hence its errno: it makes syscalls only
// through bare_syscall (which returns -errno and touches nothing) and calls no libc function that
// could set errno or use TLS.
//
// ASYNC-SIGNAL-SAFE: everything here is a syscall, a clone() or an atomic.
#pragma once

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>

namespace crcore::image {

inline long bare_syscall(long number, long a = 0, long b = 0, long c = 0, long d = 0) {
  long result;
  register long r10 asm("r10") = d;
  asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return result;
}

// Futexes of one process (FUTEX_PRIVATE_FLAG). A wait may return early (a wake-up, a signal): callers
// loop on their condition.
inline void bare_futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  bare_syscall(SYS_futex, reinterpret_cast<long>(word), FUTEX_WAIT_PRIVATE, expected);
}

inline void bare_futex_wake(std::atomic<uint32_t>* word) {
  bare_syscall(SYS_futex, reinterpret_cast<long>(word), FUTEX_WAKE_PRIVATE, INT_MAX);
}

// Starts fn(arg) as a thread of the calling process (same memory, descriptors, signal handlers) on
// the stack that ends at stack_top, with every signal blocked: a signal meant for the application
// must not run its handler on a thread that is not one of its own. *tid holds the thread's id while
// it runs; the kernel clears it when the thread exits (fn returning exits the thread alone). The
// thread id, or -1 when clone() failed (nothing was started).
inline int bare_thread_start(int (*fn)(void*), void* arg, std::byte* stack_top, std::atomic<int32_t>* tid) {
  uint64_t all = ~0ull, old = 0;
  bare_syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&all), reinterpret_cast<long>(&old), 8);
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |
              CLONE_CHILD_CLEARTID;
  auto* word = reinterpret_cast<pid_t*>(tid);
  tid->store(0, std::memory_order_relaxed);
  int result = clone(fn, stack_top, flags, arg, word, nullptr, word);
  bare_syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&old), 0, 8);
  return result > 0 ? result : -1;
}

// Waits until a thread started by bare_thread_start has exited. The kernel's wake-up at the exit is
// a shared futex, so this wait is one too.
inline void bare_thread_join(std::atomic<int32_t>* tid) {
  for (int32_t t; (t = tid->load(std::memory_order_acquire)) != 0;) {
    bare_syscall(SYS_futex, reinterpret_cast<long>(tid), FUTEX_WAIT, t);
  }
}

}  // namespace crcore::image
