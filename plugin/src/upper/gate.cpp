#include "gate.h"

#include <chrono>

#include "lower_half.h"
#include "objects.h"

namespace crmpi {

Gate& gate() {
  static Gate instance;
  return instance;
}

void Gate::enter() {
  for (;;) {
    inside_.fetch_add(1);
    if (hold_.load() != static_cast<int>(Hold::All)) {
      prepare_thread_for_lower_half();
      return;
    }
    inside_.fetch_sub(1);
    std::unique_lock lock(mutex_);
    changed_.notify_all();
    changed_.wait(lock, [this] { return hold_.load() != static_cast<int>(Hold::All); });
  }
}

void Gate::leave() {
  if (inside_.fetch_sub(1) == 1 && hold_.load() != static_cast<int>(Hold::None)) {
    std::lock_guard lock(mutex_);
    changed_.notify_all();
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

void Gate::enter_collective(VComm* comm) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return may_start_collective(comm); });
  ++comm->collectives;
  inside_.fetch_add(1);
  collectives_.fetch_add(1);
  prepare_thread_for_lower_half();
}

void Gate::leave_collective() {
  std::lock_guard lock(mutex_);
  collectives_.fetch_sub(1);
  inside_.fetch_sub(1);
  changed_.notify_all();
}

// Callers are between two passages (they hold none): leave() first, as this once did, took a count
// it had not given, and the enter() that then waited left inside_ at -1 until the gate opened: the
// quiesce's wait_until_idle() never saw 0 (the quiesce hang of #6).
void Gate::pause_point() {
  if (hold_.load() == static_cast<int>(Hold::All)) {
    enter();
    leave();
  }
}

void Gate::begin_finalize() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return hold_.load() == static_cast<int>(Hold::None); });
  finalizing_ = true;
}

bool Gate::hold_unless_finalizing() {
  std::lock_guard lock(mutex_);
  if (finalizing_) {
    return false;
  }
  targets_known_ = false;
  hold_.store(static_cast<int>(Hold::Collectives));
  changed_.notify_all();
  return true;
}

void Gate::hold(Hold what) {
  std::lock_guard lock(mutex_);
  targets_known_ = false;
  hold_.store(static_cast<int>(what));
  changed_.notify_all();
}

void Gate::set_targets_known() {
  std::lock_guard lock(mutex_);
  targets_known_ = true;
  changed_.notify_all();
}

bool Gate::at_cut() const {
  if (collectives_.load() != 0) {
    return false;
  }
  for (const auto& c : registry().comms) {
    if (!c->freed && c->collectives != c->target) {
      return false;
    }
  }
  return true;
}

namespace {

template <typename Predicate>
bool wait_until(std::condition_variable& changed, std::unique_lock<std::mutex>& lock, uint64_t deadline_ns,
                Predicate done) {
  if (deadline_ns == 0) {
    changed.wait(lock, done);
    return true;
  }
  auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
  return changed.wait_until(lock, deadline, done);  // steady_clock is CLOCK_MONOTONIC
}

}  // namespace

bool Gate::wait_for_collective_cut(uint64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  return wait_until(changed_, lock, deadline_ns, [this] { return at_cut(); });
}

bool Gate::wait_until_idle(uint64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  return wait_until(changed_, lock, deadline_ns, [this] { return inside_.load() == 0; });
}

void Gate::open() {
  std::lock_guard lock(mutex_);
  targets_known_ = false;
  hold_.store(static_cast<int>(Hold::None));
  changed_.notify_all();
}

}  // namespace crmpi
