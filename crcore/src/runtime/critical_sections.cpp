// libcr critical sections (see critical_sections.h). Normal context only.
#include "runtime/critical_sections.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>

#include "runtime/callbacks.h"
#include "runtime/raw_syscall.h"

namespace crcore::runtime {
namespace {

std::mutex g_mutex;
std::condition_variable g_changed;
int g_inside = 0;        // threads inside a critical section (nesting counted once per thread)
bool g_blocked = false;  // a checkpoint is pending
__attribute__((tls_model("initial-exec"))) thread_local int t_depth = 0;
__attribute__((tls_model("initial-exec"))) thread_local bool t_in_fork = false;  // fork_prepare entered

}  // namespace

int enter_critical_section(bool wait) {
  if (t_depth > 0) {
    ++t_depth;  // nested: passes straight through
    return 0;
  }
  std::unique_lock lock(g_mutex);
  if (g_blocked && !wait) {
    return 1;
  }
  g_changed.wait(lock, [] { return !g_blocked; });
  ++g_inside;
  t_depth = 1;
  return 0;
}

void leave_critical_section() {
  if (t_depth == 0) {
    return;
  }
  if (--t_depth > 0) {
    return;
  }
  std::lock_guard lock(g_mutex);
  --g_inside;
  g_changed.notify_all();
}

bool checkpoint_pending() {
  std::lock_guard lock(g_mutex);
  return g_blocked;
}

bool block_critical_sections(uint64_t deadline_ns) {
  std::unique_lock lock(g_mutex);
  g_blocked = true;
  while (g_inside > 0) {
    if (deadline_ns == 0) {
      g_changed.wait(lock);
      continue;
    }
    uint64_t now = monotonic_ns();
    if (now >= deadline_ns) {
      g_blocked = false;
      g_changed.notify_all();
      return false;
    }
    g_changed.wait_for(lock, std::chrono::nanoseconds(deadline_ns - now));
  }
  return true;
}

void unblock_critical_sections() {
  std::lock_guard lock(g_mutex);
  g_blocked = false;
  g_changed.notify_all();
}

void fork_prepare() {
  // A callback that forks runs while the checkpoint waits for it: it must not wait for the checkpoint.
  t_in_fork = enter_critical_section(!in_callback_chain()) == 0;
}

void fork_parent() {
  if (t_in_fork) {
    t_in_fork = false;
    leave_critical_section();
  }
}

void fork_child() {
  // Only the forking thread lives on here: the copies of the lock and of the condition may be held
  // by threads that are gone, and no checkpoint of this process is pending.
  new (&g_mutex) std::mutex;
  new (&g_changed) std::condition_variable;
  int user_depth = t_depth - (t_in_fork ? 1 : 0);  // the program's own cr_enter_cs nesting
  t_in_fork = false;
  t_depth = user_depth;
  g_inside = user_depth > 0 ? 1 : 0;
  g_blocked = false;
}

}  // namespace crcore::runtime
