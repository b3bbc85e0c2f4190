// Start-up of the runtime in every process that loads libcr.so (preloaded by cr_run, or linked
// with -lcr): the checkpoint signal handler, glibc layout discovery, and the manager thread.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "libcr.h"
#include "runtime/critical_sections.h"
#include "runtime/dirty_tracker.h"
#include "runtime/exec_guard.h"
#include "runtime/fault_injection.h"
#include "runtime/glibc_layout.h"
#include "runtime/kmod_backend.h"
#include "runtime/manager.h"
#include "runtime/runtime_state.h"
#include "runtime/signal_guard.h"
#include "runtime/thread_stop.h"

namespace crcore::runtime {

// Constant-initialised: the constructor below must find it ready, whatever the init order.
constinit Runtime g_runtime;

void own_fd(int fd) {
  for (auto& slot : g_runtime.owned_fds) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, fd + 1)) {
      return;
    }
  }
}

void disown_fd(int fd) {
  for (auto& slot : g_runtime.owned_fds) {
    int expected = fd + 1;
    if (slot.compare_exchange_strong(expected, 0)) {
      return;
    }
  }
}

void note_request_fd(int fd) {
  if (fd < 0) {
    return;
  }
  for (auto& slot : g_runtime.request_fds) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, fd + 1)) {
      return;
    }
  }
}

void close_request_fd(int fd) {
  if (fd < 0) {
    return;
  }
  for (auto& slot : g_runtime.request_fds) {
    int expected = fd + 1;
    if (slot.compare_exchange_strong(expected, 0)) {
      break;
    }
  }
  close(fd);
}

void close_inherited_request_fds() {
  for (auto& slot : g_runtime.request_fds) {
    int value = slot.exchange(0);
    if (value > 0) {
      close(value - 1);
    }
  }
}

void forget_request_fds() {
  for (auto& slot : g_runtime.request_fds) {
    slot.store(0);
  }
}

namespace {

int choose_signal() {
  const char* env = getenv("CRCORE_SIGNAL");
  if (env != nullptr && *env != '\0') {
    int sig = atoi(env);
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
      return sig;
    }
    fprintf(stderr, "crcore: CRCORE_SIGNAL=%s is not a real-time signal (%d..%d); using %d\n", env, SIGRTMIN, SIGRTMAX,
            CR_SIGNUM);
  }
  return CR_SIGNUM;
}

void start_runtime() {
  g_runtime.pid = getpid();
  tracker_init();
  std::string why = start_manager();
  if (!why.empty()) {
    fprintf(stderr, "crcore: process %d will not be checkpointable: %s\n", getpid(), why.c_str());
  }
}

// A forked child has only the forking thread: it gets a runtime of its own.
void after_fork_in_child() {
  fork_child();  // critical sections first: start_runtime below may take their lock
  if (g_runtime.control_fd >= 0) {
    close(g_runtime.control_fd);  // the parent's listening socket: this copy would end up in the child's image
  }
  g_runtime.control_fd = -1;
  kmod::forget(true);             // the parent's registration; start_runtime registers this process
  close_inherited_request_fds();  // the parent's checkpoint under way: its connection, image, pipes
  g_runtime.phase.store(static_cast<uint32_t>(Phase::Idle));
  g_runtime.answering.store(0);  // (the parent's answer: exec_guard must not wait for it here)
  g_runtime.slot_count = 0;
  tracker_after_fork();
  start_runtime();
}

__attribute__((constructor)) void crcore_runtime_init() {
  resolve_exec_functions();  // libcr's exec functions work even in a process that disables the runtime
  const char* off = getenv("CRCORE_DISABLE");
  if (off != nullptr && strcmp(off, "1") == 0) {
    return;
  }
  g_runtime.signal = choose_signal();
  load_fault_injection();
  discover_glibc_layout();
  install_checkpoint_handler(g_runtime.signal);
  protect_checkpoint_signal(g_runtime.signal);  // after our own sigaction
  unblock_checkpoint_signal(g_runtime.signal);  // blocked across an exec by exec_guard
  start_runtime();
  pthread_atfork(fork_prepare, fork_parent, after_fork_in_child);
}

}  // namespace
}  // namespace crcore::runtime
