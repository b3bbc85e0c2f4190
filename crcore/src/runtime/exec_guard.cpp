// exec_guard.h. The wrappers are async-signal-safe (exec may be called in a forked child): no
// allocation, no locks; the real functions are resolved at start-up.
#include "runtime/exec_guard.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <ctime>

#include "runtime/runtime_state.h"

namespace crcore::runtime {
namespace {

using Execve = int (*)(const char*, char* const[], char* const[]);
using Execv = int (*)(const char*, char* const[]);
using Execvpe = int (*)(const char*, char* const[], char* const[]);
using Fexecve = int (*)(int, char* const[], char* const[]);

Execve g_execve = nullptr;
Execv g_execv = nullptr;
Execv g_execvp = nullptr;
Execvpe g_execvpe = nullptr;
Fexecve g_fexecve = nullptr;

constexpr int kMaxListArgs = 4096;

uint64_t signal_bit() { return g_runtime.signal > 0 ? uint64_t{1} << (g_runtime.signal - 1) : 0; }

// Blocks the checkpoint signal for the exec; gives back the old mask.
uint64_t block_signal() {
  uint64_t old = 0;
  uint64_t block = signal_bit();
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, sizeof block);
  return old;
}

// True while this process's runtime is checkpointing it (from the request's acceptance to its
// answer: a copy-on-write writer may still be writing after the threads were released, and the
// manager, which reports its result, would end with the old program). A forked child's copy of the
// phase is reset by its own runtime; a vfork child shares the parent's memory but not its pid.
bool checkpoint_under_way() {
  return (g_runtime.phase.load(std::memory_order_acquire) != static_cast<uint32_t>(Phase::Idle) ||
          g_runtime.answering.load(std::memory_order_acquire) != 0) &&
         g_runtime.pid == static_cast<pid_t>(syscall(SYS_getpid));
}

void restore_mask(uint64_t old) {
  int saved = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  errno = saved;
}

// Waits until no checkpoint of this process is under way, then blocks the checkpoint signal and
// gives back the old mask. An exec in the middle of a checkpoint would replace the process between
// the scan that found it and its capture: the exec waits instead, with the caller's own mask, so the
// thread is stopped, captured (and restarted) inside this wait like anywhere else.
uint64_t enter_exec() {
  for (;;) {
    uint64_t old = block_signal();
    if ((old & signal_bit()) != 0 || !checkpoint_under_way()) {
      return old;  // (a caller that blocked the signal itself cannot be stopped: no wait)
    }
    restore_mask(old);
    struct timespec pause = {0, 1000 * 1000};
    syscall(SYS_nanosleep, &pause, nullptr);
  }
}

// Runs one exec function between enter_exec and the mask's restoration (reached only on failure).
template <typename Function, typename... Args>
int guarded(Function function, Args... args) {
  if (function == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  uint64_t old = enter_exec();
  int rc = function(args...);
  restore_mask(old);
  return rc;
}

// Collects execl-style arguments into `argv` (NULL-terminated); false (errno E2BIG) if there are
// too many.
bool collect(const char* first, va_list ap, char** argv) {
  int n = 0;
  argv[n++] = const_cast<char*>(first);
  while (argv[n - 1] != nullptr) {
    if (n >= kMaxListArgs) {
      errno = E2BIG;
      return false;
    }
    argv[n++] = va_arg(ap, char*);
  }
  return true;
}

}  // namespace

void resolve_exec_functions() {
  g_execve = reinterpret_cast<Execve>(dlsym(RTLD_NEXT, "execve"));
  g_execv = reinterpret_cast<Execv>(dlsym(RTLD_NEXT, "execv"));
  g_execvp = reinterpret_cast<Execv>(dlsym(RTLD_NEXT, "execvp"));
  g_execvpe = reinterpret_cast<Execvpe>(dlsym(RTLD_NEXT, "execvpe"));
  g_fexecve = reinterpret_cast<Fexecve>(dlsym(RTLD_NEXT, "fexecve"));
}

void unblock_checkpoint_signal(int signal) {
  uint64_t unblock = uint64_t{1} << (signal - 1);
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &unblock, nullptr, sizeof unblock);
}

}  // namespace crcore::runtime

using namespace crcore::runtime;

extern "C" int execve(const char* path, char* const argv[], char* const envp[]) {
  return guarded(g_execve, path, argv, envp);
}

extern "C" int execv(const char* path, char* const argv[]) { return guarded(g_execv, path, argv); }

extern "C" int execvp(const char* file, char* const argv[]) { return guarded(g_execvp, file, argv); }

extern "C" int execvpe(const char* file, char* const argv[], char* const envp[]) {
  return guarded(g_execvpe, file, argv, envp);
}

extern "C" int fexecve(int fd, char* const argv[], char* const envp[]) { return guarded(g_fexecve, fd, argv, envp); }

extern "C" int execl(const char* path, const char* arg, ...) {
  char* argv[kMaxListArgs];
  va_list ap;
  va_start(ap, arg);
  bool ok = collect(arg, ap, argv);
  va_end(ap);
  return ok ? execv(path, argv) : -1;
}

extern "C" int execlp(const char* file, const char* arg, ...) {
  char* argv[kMaxListArgs];
  va_list ap;
  va_start(ap, arg);
  bool ok = collect(arg, ap, argv);
  va_end(ap);
  return ok ? execvp(file, argv) : -1;
}

extern "C" int execle(const char* path, const char* arg, ...) {
  char* argv[kMaxListArgs];
  va_list ap;
  va_start(ap, arg);
  bool ok = collect(arg, ap, argv);
  char* const* envp = ok ? va_arg(ap, char* const*) : nullptr;
  va_end(ap);
  return ok ? execve(path, argv, envp) : -1;
}
