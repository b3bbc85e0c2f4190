// The runtime's side of the kernel-module backend (/dev/crcore, docs/kmod.md): registration of
// this process as a client, requests taken from the module, phase 2 triggered through it, and the
// result reported back. The user backend (control socket, tgkill) stays as it is; the manager
// serves both.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "control/control_protocol.h"
#include "runtime/runtime_state.h"

namespace crcore::runtime::kmod {

// Opens /dev/crcore and registers this process with `signal` as its phase-2 signal (normal
// context). Quietly does nothing when there is no module; says on stderr why when the module is
// there but refuses. Returns the device descriptor or -1.
int register_process(int signal);

// The device descriptor of this process's registration, or -1.
int device_fd();

// Forgets the registration without touching the device: in a forked child (the descriptor
// belongs to the parent's registration: closed) and after a restart (the image left it out:
// nothing to close).
void forget(bool close_it);

// A request the module handed over.
struct TakenRequest {
  uint64_t id;
  int image_fd;
  int requester_pid;
  control::Request request;
};

// Takes the pending request (the device polled readable). 0, or -errno.
int take_request(TakenRequest& out);

// Phase 2 through the module: the same contract as thread_stop.h's stop_all_threads.
int stop_all_threads(uint64_t id, uint64_t deadline_ns, char* why, size_t why_size);

// Reports the result of request `id`, then waits up to wait_ms for the requester's commit.
// Returns true if the requester committed.
bool report_result(uint64_t id, const control::Response& response, uint32_t wait_ms);

// Signal handler side (RESTRICTED CODE): when the module delivered the phase-2 signal
// (SI_KERNEL) during a kmod phase 2, gives the calling thread a slot. nullptr otherwise.
ThreadSlot* claim_slot(pid_t tid, int si_code);

}  // namespace crcore::runtime::kmod
