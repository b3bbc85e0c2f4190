// exec_guard.h. The wrappers are async-signal-safe (exec may be called in a forked child): no
// allocation, no locks; the real functions are resolved at start-up.
#include "runtime/exec_guard.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>

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

// Blocks the checkpoint signal for the exec; gives back the old mask.
uint64_t block_signal() {
  uint64_t old = 0;
  uint64_t block = g_runtime.signal > 0 ? uint64_t{1} << (g_runtime.signal - 1) : 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, sizeof block);
  return old;
}

void restore_mask(uint64_t old) {
  int saved = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  errno = saved;
}

// Collects execl-style arguments into `argv` (NULL-terminated); false if there are too many.
bool collect(const char* first, va_list ap, char** argv) {
  int n = 0;
  argv[n++] = const_cast<char*>(first);
  while (argv[n - 1] != nullptr) {
    if (n >= kMaxListArgs) {
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
  if (g_execve == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  uint64_t old = block_signal();
  int rc = g_execve(path, argv, envp);
  restore_mask(old);
  return rc;
}

extern "C" int execv(const char* path, char* const argv[]) {
  uint64_t old = block_signal();
  int rc = g_execv != nullptr ? g_execv(path, argv) : (errno = ENOSYS, -1);
  restore_mask(old);
  return rc;
}

extern "C" int execvp(const char* file, char* const argv[]) {
  uint64_t old = block_signal();
  int rc = g_execvp != nullptr ? g_execvp(file, argv) : (errno = ENOSYS, -1);
  restore_mask(old);
  return rc;
}

extern "C" int execvpe(const char* file, char* const argv[], char* const envp[]) {
  uint64_t old = block_signal();
  int rc = g_execvpe != nullptr ? g_execvpe(file, argv, envp) : (errno = ENOSYS, -1);
  restore_mask(old);
  return rc;
}

extern "C" int fexecve(int fd, char* const argv[], char* const envp[]) {
  uint64_t old = block_signal();
  int rc = g_fexecve != nullptr ? g_fexecve(fd, argv, envp) : (errno = ENOSYS, -1);
  restore_mask(old);
  return rc;
}

extern "C" int execl(const char* path, const char* arg, ...) {
  char* argv[kMaxListArgs];
  va_list ap;
  va_start(ap, arg);
  bool ok = collect(arg, ap, argv);
  va_end(ap);
  if (!ok) {
    errno = E2BIG;
    return -1;
  }
  return execv(path, argv);
}

extern "C" int execlp(const char* file, const char* arg, ...) {
  char* argv[kMaxListArgs];
  va_list ap;
  va_start(ap, arg);
  bool ok = collect(arg, ap, argv);
  va_end(ap);
  if (!ok) {
    errno = E2BIG;
    return -1;
  }
  return execvp(file, argv);
}

extern "C" int execle(const char* path, const char* arg, ...) {
  char* argv[kMaxListArgs];
  va_list ap;
  va_start(ap, arg);
  bool ok = collect(arg, ap, argv);
  char* const* envp = ok ? va_arg(ap, char* const*) : nullptr;
  va_end(ap);
  if (!ok) {
    errno = E2BIG;
    return -1;
  }
  return execve(path, argv, envp);
}
