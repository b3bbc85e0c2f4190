#include "requests.h"

#include <sched.h>

#include <memory>
#include <vector>

#include "gate.h"
#include "lower_api.h"
#include "traffic.h"
#include "wait_policy.h"

namespace crmpi {
namespace {

// Retired requests, for reuse. Guarded like the registry (inside a passage).
std::vector<std::unique_ptr<VRequest>> g_spare;

VRequest* new_pending() {
  auto& pending = registry().pending;
  if (g_spare.empty()) {
    pending.push_back(std::make_unique<VRequest>());
  } else {
    pending.push_back(std::move(g_spare.back()));
    g_spare.pop_back();
  }
  return pending.back().get();
}

}  // namespace

void post_send(VRequest& r, const void* buffer, int count, MPI_Datatype type, int dest, int tag, VComm* comm,
               SendMode mode, const char* call) {
  describe(r, RequestKind::Send, const_cast<void*>(buffer), count, type, dest, tag, comm);
  auto isend = mode == SendMode::Synchronous ? lower.Issend : mode == SendMode::Ready ? lower.Irsend : lower.Isend;
  check(isend(buffer, count, real_type(type, call), dest, tag, comm->real, &r.real), call);
  traffic().sent(comm, dest);
}

VRequest* post_send(const void* buffer, int count, MPI_Datatype type, int dest, int tag, VComm* comm, SendMode mode,
                    const char* call) {
  VRequest* r = new_pending();
  post_send(*r, buffer, count, type, dest, tag, comm, mode, call);
  return r;
}

void start_receive_held(VRequest* request, const char* call) {
  Traffic& t = traffic();
  if (!t.drained.empty()) {
    if (const Drained* m = t.find(request->comm, request->peer, request->tag); m != nullptr) {
      t.deliver(m, request->buffer, request->count, request->type, &request->status);
      request->complete = true;
      request->real = nullptr;
      return;
    }
  }
  check(lower.Irecv(request->buffer, request->count, real_type(request->type, call), request->peer, request->tag,
                    request->comm->real, &request->real),
        call);
}

VRequest* post_receive(void* buffer, int count, MPI_Datatype type, int source, int tag, VComm* comm, const char* call) {
  VRequest* r = new_pending();
  post_receive(*r, buffer, count, type, source, tag, comm, call);
  return r;
}

void idle(unsigned spins) {
  gate().pause_point();
  if (spins >= 32 && yield_when_idle()) {
    sched_yield();
  }
}

void wait_for(VRequest* request) {
  for (unsigned spins = 0; !progress(request); ++spins) {
    idle(spins);
  }
}

void retire(VRequest* request, MPI_Status* status) {
  if (status != MPI_STATUS_IGNORE) {
    *status = request->status;
  }
  auto& pending = registry().pending;
  for (size_t i = pending.size(); i-- > 0;) {  // most often the newest
    if (pending[i].get() == request) {
      g_spare.push_back(std::move(pending[i]));
      pending.erase(pending.begin() + static_cast<long>(i));
      return;
    }
  }
}

// wait_for's first test found the request incomplete: the pause point, then a test, until complete
// (the same sequence as a loop that starts with the test).
void CallRequests::wait_loop(VRequest& request) {
  unsigned spins = 0;
  do {
    if (gate().held() == Hold::All) [[unlikely]] {
      pause();
    }
    if (spins >= 32 && yield_when_idle()) {
      sched_yield();
    }
    ++spins;
  } while (!progress(&request));
}

// Held for a checkpoint: the call's requests become pending requests (in the order they were
// posted, after every earlier one) for the drain and a restart, which may complete them, or post
// them again in a new lower half; then they come back.
void CallRequests::pause() {
  VRequest* lent[2] = {nullptr, nullptr};
  for (int i = 0; i < count_; ++i) {
    if (!mine_[i]->complete) {
      lent[i] = new_pending();
      *lent[i] = *mine_[i];
    }
  }
  gate().pause_point();
  for (int i = 0; i < count_; ++i) {
    if (lent[i] != nullptr) {
      *mine_[i] = *lent[i];
      retire(lent[i], MPI_STATUS_IGNORE);
    }
  }
}

}  // namespace crmpi
