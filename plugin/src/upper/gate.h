// The gate every MPI call of the application passes on its way to the lower half. Outside a
// checkpoint it costs a few plain stores and loads of the calling thread's own state and one load of
// the hold word: no atomic read-modify-write, no lock. During the quiesce (quiesce.cpp) it holds
// calls back:
//   - Collectives: a collective on a communicator may start only while that communicator is behind
//     the agreed cut (its count of entered collectives below the target); point-to-point runs on;
//   - All: every call waits (the network is being drained, then the image is written).
// A held thread waits in the upper half, so it is saved and restored like any waiting thread, and
// goes on when the gate opens (after the checkpoint, or after the restart has rebuilt the lower half).
//
// Why plain stores are enough: a calling thread announces itself in its own ThreadGate (store), then
// reads the hold word (load); the quiesce stores the hold word, then runs membarrier(2)
// (MEMBARRIER_CMD_PRIVATE_EXPEDITED), which puts a full memory barrier into every running thread of
// the process, then reads the threads' states. Either a thread's load comes after that barrier and
// sees the hold, or its store is visible to the quiesce: never neither (the asymmetric fence of
// userspace RCU). Where membarrier is unavailable, the fast path itself uses a full fence.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include "lower_half.h"
#include "objects.h"

namespace crmpi {

struct VComm;

enum class Hold : int { None = 0, Collectives = 1, All = 2 };

// One per application thread that has called MPI; written by that thread only (outside the slow
// paths' lock), read by the quiesce.
struct ThreadGate {
  std::atomic<int> inside{0};       // passages open (they nest)
  std::atomic<int> collectives{0};  // of them, collectives
  std::atomic<int> entering{0};     // between reading the hold word and counting a collective
  bool in_use = true;               // guarded by the gate's mutex
};

class Gate {
 public:
  // A point-to-point (or local) call: waits while everything is held. Pair with leave().
  void enter() {
    ThreadGate& t = mine();
    t.inside.store(t.inside.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    order();
    if (hold_.load(std::memory_order_acquire) == static_cast<int>(Hold::All)) [[unlikely]] {
      enter_held(t);
    }
    prepare_thread_for_lower_half();
  }
  void leave() {
    ThreadGate& t = mine();
    t.inside.store(t.inside.load(std::memory_order_relaxed) - 1, std::memory_order_release);
    order();
    if (hold_.load(std::memory_order_relaxed) != static_cast<int>(Hold::None)) [[unlikely]] {
      notify();
    }
  }
  // A collective call on comm: counts it (comm->collectives) when it may start. Pair with
  // leave_collective().
  void enter_collective(VComm* comm) {
    ThreadGate& t = mine();
    t.entering.store(1, std::memory_order_relaxed);
    order();
    if (hold_.load(std::memory_order_acquire) != static_cast<int>(Hold::None)) [[unlikely]] {
      enter_collective_held(t, comm);
    } else {
      // The quiesce reads the counts only once no thread is entering (hold()).
      ++comm->collectives;
      t.inside.store(t.inside.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      t.collectives.store(t.collectives.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      t.entering.store(0, std::memory_order_release);
    }
    prepare_thread_for_lower_half();
  }
  void leave_collective() {
    ThreadGate& t = mine();
    t.collectives.store(t.collectives.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    leave();
  }

  // Between two tests of a blocking call's loop (inside a passage): lets the quiesce have this
  // thread if everything is held.
  void pause_point() {
    if (hold_.load(std::memory_order_relaxed) == static_cast<int>(Hold::All)) [[unlikely]] {
      leave();
      enter();
    }
  }

  // MPI_Finalize: waits until no checkpoint holds calls, then marks this rank as finalizing (for good):
  // a checkpoint that starts later refuses at once.
  void begin_finalize();

  // The quiesce side.
  void arm();  // at every load of the lower half: sets up the barrier (membarrier)
  // The first hold of a checkpoint (collectives): false, holding nothing, when the rank is finalizing.
  bool hold_unless_finalizing();
  void hold(Hold what);      // targets unknown yet: collectives wait
  void set_targets_known();  // comm->target_collectives is set for every communicator
  // deadline_ns: CLOCK_MONOTONIC, 0 = none. False when the deadline passed first.
  bool wait_until_idle(uint64_t deadline_ns);          // no application thread inside the lower half
  bool wait_for_collective_cut(uint64_t deadline_ns);  // every communicator at its target, no collective running
  void open();                                         // let everyone go on
  Hold held() const { return static_cast<Hold>(hold_.load(std::memory_order_acquire)); }

 private:
  enum class Barrier { Expedited, Fence };

  ThreadGate& mine() {
    ThreadGate* t = t_mine;
    return t != nullptr ? *t : adopt_thread();
  }
  // The calling thread's stores before its loads, as seen by the quiesce (see the top).
  void order() const {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (barrier_ == Barrier::Fence) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }
  ThreadGate& adopt_thread();
  void enter_held(ThreadGate& t);
  void enter_collective_held(ThreadGate& t, VComm* comm);
  void notify();
  void finish_hold();  // after the hold word changed: every thread sees it, none is half-way into a collective
  void synchronize();  // after a change of the hold word: every thread's announcements visible
  bool may_start_collective(const VComm* comm) const;
  bool at_cut() const;
  bool idle() const;

  // constinit: no TLS wrapper call (dynamic-initialisation check) on the hot path.
  static constinit thread_local ThreadGate* t_mine __attribute__((tls_model("initial-exec")));
  std::atomic<int> hold_{0};
  Barrier barrier_ = Barrier::Fence;
  bool targets_known_ = false;
  bool finalizing_ = false;         // under mutex_
  std::deque<ThreadGate> threads_;  // guarded by mutex_ (addresses stable)
  mutable std::mutex mutex_;
  std::condition_variable changed_;
};

extern Gate g_gate;
inline Gate& gate() { return g_gate; }

// RAII for a call.
class Passage {
 public:
  Passage() { gate().enter(); }
  explicit Passage(VComm* collective_on) : collective_(true) { gate().enter_collective(collective_on); }
  ~Passage() {
    if (collective_) {
      gate().leave_collective();
    } else {
      gate().leave();
    }
  }
  Passage(const Passage&) = delete;
  Passage& operator=(const Passage&) = delete;

 private:
  bool collective_ = false;
};

}  // namespace crmpi
