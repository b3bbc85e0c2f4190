// The runtime's process-wide state: one instance, g_runtime, in libcr.so.
//
// Fields marked [signal] are read or written by the checkpoint signal handler and by the
// manager while application threads are stopped: they are atomics or plain data touched
// in a documented order, never protected by a lock.
#pragma once

#include <sys/types.h>
#include <atomic>
#include <cstdint>

#include "image/format.h"
#include "runtime/restart_block.h"

namespace crcore::runtime {

enum class SlotState : uint32_t {
  Free = 0,
  Signalled = 1,  // the manager sent the checkpoint signal
  Parked = 2,     // the thread saved its state and waits in its handler
  Gone = 3,       // the thread exited before it parked
  Resumed = 4,    // restored by the restart stage, waiting for the release
  Aborted = 5,    // a signal-context callback refused the checkpoint
};

// How a checkpoint ended, as seen by parked threads and callbacks.
enum class Outcome : uint32_t {
  Pending = 0,
  Continue = 1,  // the image was written; this is the original process
  Restart = 2,   // this is a process restored from the image
  Aborted = 3,   // no image: a callback refused, a timeout, or an error
};

struct ThreadSlot {
  std::atomic<int32_t> tid;                  // [signal]
  std::atomic<uint32_t> state;               // [signal] SlotState
  int32_t abort_code = 0;                    // [signal] negative CR_E* code when state == Aborted
  image::ThreadRecord record{};              // [signal] filled by the thread itself while it parks
  image::MemPolicyResource memory_policy{};  // [signal] likewise (resource_capture.h); mode -1: unknown
  image::PrctlResource prctl{};              // [signal] likewise: pdeath signal, no_new_privs, ... are per thread
};

struct Runtime {
  // Set once at start-up (and again after a restart).
  int signal = 0;  // the phase-2 signal
  pid_t pid = 0;
  std::atomic<pid_t> manager_tid{0};
  uint32_t tid_offset = 0;  // glibc: offset of the cached tid from the thread pointer
  int control_fd = -1;      // the listening control socket

  // One checkpoint at a time.
  std::atomic<uint32_t> phase{0};      // [signal] Phase
  std::atomic<uint32_t> parked{0};     // [signal] futex: threads parked (or aborted, or gone)
  std::atomic<uint32_t> resumed{0};    // [signal] futex: threads resumed after a restart
  std::atomic<uint32_t> release{0};    // [signal] futex: 0 while threads must stay parked
  std::atomic<uint32_t> outcome{0};    // [signal] Outcome once released
  std::atomic<int32_t> abort_code{0};  // [signal] first refusal's code
  // From a request's acceptance until the manager has answered it: the threads run again while a
  // copy-on-write writer completes the image, and an exec then would end the manager before it
  // reports (exec_guard.cpp waits while this is set).
  std::atomic<uint32_t> answering{0};
  uint32_t slot_count = 0;  // [signal] slots in use (written by the manager only)
  uint64_t checkpoint_serial = 0;

  ThreadSlot slots[image::kMaxThreads];  // [signal]
  ThreadSlot manager_slot;               // the manager's own record

  RestartBlock restart_block{};  // written by the restart stage

  // Descriptors the runtime holds for itself (requests this process made with
  // cr_request_checkpoint): left out of images. Stored as fd + 1; 0 marks a free entry.
  static constexpr int kMaxOwnedFds = 64;
  std::atomic<int> owned_fds[kMaxOwnedFds] = {};

  // Descriptors the manager holds for the request it serves (its connection, the image, its pipes),
  // as fd + 1: a child forked meanwhile inherits them, and must close its copies (a child of a tree
  // checkpoint would otherwise be captured holding a socket to the requester).
  static constexpr int kMaxRequestFds = 8;
  std::atomic<int> request_fds[kMaxRequestFds] = {};
};

// Marks a descriptor as the runtime's own (or no longer). Async-signal-safe.
void own_fd(int fd);
void disown_fd(int fd);

// The manager's request descriptors (see request_fds): noted when opened, closed through
// close_request_fd (forgotten first, so that a child forked then never closes a reused number).
// close_inherited_request_fds: in a forked child; forget_request_fds: after a restart (the image
// left them out). Async-signal-safe.
void note_request_fd(int fd);
void close_request_fd(int fd);
void close_inherited_request_fds();
void forget_request_fds();

enum class Phase : uint32_t {
  Idle = 0,
  Phase1 = 1,    // thread-context callbacks are running
  Stopping = 2,  // the checkpoint signal is out; threads park
  Writing = 3,   // every thread is parked; the image is being written
};

extern Runtime g_runtime;

}  // namespace crcore::runtime
