// The gate every MPI call of the application passes on its way to the lower half. Outside a
// checkpoint it costs two atomic operations. During the quiesce (quiesce.cpp) it holds calls back:
//   - Collectives: a collective on a communicator may start only while that communicator is behind
//     the agreed cut (its count of entered collectives below the target); point-to-point runs on;
//   - All: every call waits (the network is being drained, then the image is written).
// A held thread waits in the upper half, so it is saved and restored like any waiting thread, and
// goes on when the gate opens (after the checkpoint, or after the restart has rebuilt the lower half).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace crmpi {

struct VComm;

enum class Hold : int { None = 0, Collectives = 1, All = 2 };

class Gate {
 public:
  // A point-to-point (or local) call: waits while everything is held. Pair with leave().
  void enter();
  // A collective call on comm: counts it (comm->collectives) when it may start. Pair with leave().
  void enter_collective(VComm* comm);
  void leave();
  void leave_collective();

  // Between two tests of a blocking call's loop, outside any passage: waits here while everything is
  // held (a balanced enter() and leave(), so the count of threads inside stays right).
  void pause_point();

  // MPI_Finalize: waits until no checkpoint holds calls, then marks this rank as finalizing (for good):
  // a checkpoint that starts later refuses at once.
  void begin_finalize();

  // The quiesce side.
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
  bool may_start_collective(const VComm* comm) const;
  bool at_cut() const;

  std::atomic<int> hold_{0};
  std::atomic<int> inside_{0};       // application threads inside the lower half
  std::atomic<int> collectives_{0};  // of them, inside a collective
  bool targets_known_ = false;
  bool finalizing_ = false;  // under mutex_
  std::mutex mutex_;
  std::condition_variable changed_;
};

Gate& gate();

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
