#include "gate.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>

#include "objects.h"

namespace crmpi {

Gate g_gate;
constinit thread_local ThreadGate* Gate::t_mine __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

// The quiesce's waits also look again now and then: a thread whose leave() read the hold word just
// before it changed does not notify, and the waits must not depend on it.
constexpr auto kRecheck = std::chrono::milliseconds(1);

long membarrier(int command) { return syscall(SYS_membarrier, command, 0, 0); }

// Gives the thread's ThreadGate back when the thread ends (constructed only on the slow path).
struct Lease {
  ThreadGate* gate = nullptr;
  std::mutex* mutex = nullptr;
  ~Lease() {
    if (gate != nullptr) {
      std::lock_guard lock(*mutex);
      gate->in_use = false;
    }
  }
};
thread_local Lease t_lease;

}  // namespace

ThreadGate& Gate::adopt_thread() {
  std::lock_guard lock(mutex_);
  ThreadGate* t = nullptr;
  for (ThreadGate& candidate : threads_) {
    if (!candidate.in_use) {
      t = &candidate;
      break;
    }
  }
  if (t == nullptr) {
    t = &threads_.emplace_back();
  }
  t->in_use = true;
  t->inside.store(0, std::memory_order_relaxed);
  t->collectives.store(0, std::memory_order_relaxed);
  t->entering.store(0, std::memory_order_relaxed);
  t_lease.gate = t;
  t_lease.mutex = &mutex_;
  t_mine = t;
  return *t;
}

void Gate::arm() {
  // Registration belongs to the process (its mm): a restored process registers again.
  if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
    barrier_ = Barrier::Expedited;
  } else {
    barrier_ = Barrier::Fence;
  }
}

void Gate::synchronize() {
  if (barrier_ == Barrier::Expedited && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    // Not registered any more (cannot happen after arm(), which every load of the lower half runs):
    // the global command needs no registration; it only takes longer.
    if (membarrier(MEMBARRIER_CMD_GLOBAL) != 0) {
      fatal("checkpoint", std::string("membarrier failed: ") + strerror(errno));
    }
  }
}

void Gate::notify() {
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

void Gate::enter_held(ThreadGate& t) {
  for (;;) {
    t.inside.store(t.inside.load(std::memory_order_relaxed) - 1, std::memory_order_release);
    {
      std::unique_lock lock(mutex_);
      changed_.notify_all();
      changed_.wait(lock, [this] { return hold_.load() != static_cast<int>(Hold::All); });
    }
    t.inside.store(t.inside.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    order();
    if (hold_.load(std::memory_order_acquire) != static_cast<int>(Hold::All)) {
      return;
    }
  }
}

bool Gate::may_start_collective(const VComm* comm) const {
  switch (static_cast<Hold>(hold_.load())) {
    case Hold::None:
      return true;
    case Hold::Collectives:
      return targets_known_ && comm->collectives < comm->target;
    case Hold::All:
      return false;
  }
  return false;
}

void Gate::enter_collective_held(ThreadGate& t, VComm* comm) {
  t.entering.store(0, std::memory_order_release);
  std::unique_lock lock(mutex_);
  changed_.notify_all();
  changed_.wait(lock, [&] { return may_start_collective(comm); });
  ++comm->collectives;
  t.inside.store(t.inside.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  t.collectives.store(t.collectives.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Gate::begin_finalize() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return hold_.load() == static_cast<int>(Hold::None); });
  finalizing_ = true;
}

bool Gate::hold_unless_finalizing() {
  {
    std::lock_guard lock(mutex_);
    if (finalizing_) {
      return false;
    }
    targets_known_ = false;
    hold_.store(static_cast<int>(Hold::Collectives));
  }
  finish_hold();
  return true;
}

void Gate::hold(Hold what) {
  {
    std::lock_guard lock(mutex_);
    targets_known_ = false;
    hold_.store(static_cast<int>(what));
  }
  finish_hold();
}

void Gate::finish_hold() {
  synchronize();
  // A thread that read the old hold word may still be counting a collective: wait for it (a few
  // instructions, unless it was descheduled right there).
  for (;;) {
    bool entering = false;
    {
      std::lock_guard lock(mutex_);
      for (const ThreadGate& t : threads_) {
        entering = entering || t.entering.load(std::memory_order_acquire) != 0;
      }
      if (!entering) {
        changed_.notify_all();
        return;
      }
    }
    sched_yield();
  }
}

void Gate::set_targets_known() {
  std::lock_guard lock(mutex_);
  targets_known_ = true;
  changed_.notify_all();
}

bool Gate::at_cut() const {
  for (const ThreadGate& t : threads_) {
    if (t.collectives.load(std::memory_order_acquire) != 0) {
      return false;
    }
  }
  for (const auto& c : registry().comms) {
    if (!c->freed && c->collectives != c->target) {
      return false;
    }
  }
  return true;
}

bool Gate::idle() const {
  for (const ThreadGate& t : threads_) {
    if (t.inside.load(std::memory_order_acquire) != 0) {
      return false;
    }
  }
  return true;
}

namespace {

bool past(uint64_t deadline_ns) {
  if (deadline_ns == 0) {
    return false;
  }
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec) >= deadline_ns;
}

}  // namespace

bool Gate::wait_for_collective_cut(uint64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  while (!at_cut()) {
    if (past(deadline_ns)) {
      return false;
    }
    changed_.wait_for(lock, kRecheck);
  }
  return true;
}

bool Gate::wait_until_idle(uint64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  while (!idle()) {
    if (past(deadline_ns)) {
      return false;
    }
    changed_.wait_for(lock, kRecheck);
  }
  return true;
}

void Gate::open() {
  std::lock_guard lock(mutex_);
  targets_known_ = false;
  hold_.store(static_cast<int>(Hold::None));
  changed_.notify_all();
}

}  // namespace crmpi
