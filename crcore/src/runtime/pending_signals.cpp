// Pending signals (see pending_signals.h). ASYNC-SIGNAL-SAFE: raw syscalls and plain data only.
#include "runtime/pending_signals.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

// The "SigPnd:" (this thread's private queue) or "ShdPnd:" (the process's) mask of
// /proc/thread-self/status, bit n-1 for signal n; 0 if unreadable.
uint64_t pending_mask(bool shared) {
  char buf[2048];
  if (read_file("/proc/thread-self/status", buf, sizeof buf) <= 0) {
    return 0;
  }
  const char* key = shared ? "ShdPnd:" : "SigPnd:";
  const char* p = strstr(buf, key);
  if (p == nullptr) {
    return 0;
  }
  p += strlen(key);
  while (*p == ' ' || *p == '\t') {
    ++p;
  }
  return parse_number(&p, 16);
}

}  // namespace

void take_pending_signals(PendingSignals& pending, bool shared, int skip) {
  pending.count = 0;
  pending.shared = shared;
  for (int guard = 0; guard < 4 * kMaxPendingSignals && pending.count < kMaxPendingSignals; ++guard) {
    uint64_t mask = pending_mask(shared);
    if (skip > 0) {
      mask &= ~(uint64_t{1} << (skip - 1));
    }
    if (mask == 0) {
      break;
    }
    int sig = __builtin_ctzll(mask) + 1;
    uint64_t set = uint64_t{1} << (sig - 1);
    struct timespec zero = {0, 0};
    siginfo_t info;
    memset(&info, 0, sizeof info);
    // rt_sigtimedwait takes from this thread's queue first, then the process's: for the shared
    // queue the caller is the manager, whose own queue is empty.
    if (syscall(SYS_rt_sigtimedwait, &set, &info, &zero, 8) != sig) {
      break;
    }
    pending.info[pending.count++] = info;
  }
  requeue_pending_signals(pending);
}

void requeue_pending_signals(const PendingSignals& pending) {
  pid_t pid = static_cast<pid_t>(syscall(SYS_getpid));
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  for (int i = 0; i < pending.count; ++i) {
    siginfo_t info = pending.info[i];
    // The kernel lets a thread queue a siginfo it made up (si_code >= 0, or SI_TKILL) only when
    // its tid is the pid it names: otherwise the signal is sent plainly (kill/tgkill), and its
    // receiver sees this process as the sender. sigqueue()'s and timers' siginfo pass as they are.
    long rc = -1;
    if (info.si_code < 0 && info.si_code != SI_TKILL) {
      rc = pending.shared ? syscall(SYS_rt_sigqueueinfo, pid, info.si_signo, &info)
                          : syscall(SYS_rt_tgsigqueueinfo, pid, tid, info.si_signo, &info);
    }
    if (rc != 0) {
      if (pending.shared) {
        syscall(SYS_kill, pid, info.si_signo);
      } else {
        syscall(SYS_tgkill, pid, tid, info.si_signo);
      }
    }
  }
}

}  // namespace crcore::runtime
