// Interposed signal calls (see signal_guard.h). sigprocmask and pthread_sigmask can be called
// from signal handlers, so their wrappers are async-signal-safe (a raw syscall).
#include "runtime/signal_guard.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace crcore::runtime {
namespace {

int g_protected = 0;
using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);
SigactionFn g_real_sigaction = nullptr;

// glibc's internal signals (cancellation, setxid) are never blocked by its own sigprocmask.
constexpr int kGlibcCancel = 32;
constexpr int kGlibcSetxid = 33;

int filtered_mask(int how, const sigset_t* set, sigset_t* old) {
  sigset_t copy;
  const sigset_t* use = set;
  if (set != nullptr && how != SIG_UNBLOCK) {
    copy = *set;
    sigdelset(&copy, kGlibcCancel);
    sigdelset(&copy, kGlibcSetxid);
    if (g_protected != 0) {
      sigdelset(&copy, g_protected);
    }
    use = &copy;
  }
  return static_cast<int>(syscall(SYS_rt_sigprocmask, how, use, old, _NSIG / 8));
}

}  // namespace

void protect_checkpoint_signal(int signal) {
  g_real_sigaction = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
  g_protected = signal;
}

}  // namespace crcore::runtime

using crcore::runtime::g_protected;
using crcore::runtime::g_real_sigaction;

extern "C" {

__attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  return crcore::runtime::filtered_mask(how, set, old);  // -1 with errno on failure
}

__attribute__((visibility("default"))) int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  long rc = crcore::runtime::filtered_mask(how, set, old);
  return rc == -1 ? errno : 0;
}

__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  if (g_real_sigaction == nullptr) {
    g_real_sigaction = reinterpret_cast<crcore::runtime::SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
  }
  if (sig == g_protected && g_protected != 0 && act != nullptr) {
    // The application may not take crcore's signal: report success, keep ours.
    return old != nullptr ? g_real_sigaction(sig, nullptr, old) : 0;
  }
  return g_real_sigaction(sig, act, old);
}

}  // extern "C"
