#include "requests.h"

#include <sched.h>

#include <algorithm>

#include "gate.h"
#include "lower_api.h"
#include "traffic.h"

namespace crmpi {

VRequest* post_send(const void* buffer, int count, MPI_Datatype type, int dest, int tag, VComm* comm, SendMode mode,
                    const char* call) {
  auto request = std::make_unique<VRequest>();
  request->what = RequestKind::Send;
  request->buffer = const_cast<void*>(buffer);
  request->count = count;
  request->type = type;
  request->peer = dest;
  request->tag = tag;
  request->comm = comm;
  VRequest* raw = request.get();
  {
    // Registered inside the passage: the quiesce's drain walks the pending list while the gate holds
    // every call, and must neither miss this send nor see the list change under it.
    Passage passage;
    auto isend = mode == SendMode::Synchronous ? lower.Issend : mode == SendMode::Ready ? lower.Irsend : lower.Isend;
    check(isend(buffer, count, real_type(type, call), dest, tag, comm->real, &request->real), call);
    traffic().sent(comm, dest);
    registry().pending.push_back(std::move(request));
  }
  return raw;
}

void start_receive(VRequest* request, const char* call) {
  Passage passage;
  start_receive_held(request, call);
}

void start_receive_held(VRequest* request, const char* call) {
  Traffic& t = traffic();
  if (const Drained* m = t.find(request->comm, request->peer, request->tag); m != nullptr) {
    t.deliver(m, request->buffer, request->count, request->type, &request->status);
    request->complete = true;
    request->real = nullptr;
    return;
  }
  check(lower.Irecv(request->buffer, request->count, real_type(request->type, call), request->peer, request->tag,
                    request->comm->real, &request->real),
        call);
}

VRequest* post_receive(void* buffer, int count, MPI_Datatype type, int source, int tag, VComm* comm, const char* call) {
  auto request = std::make_unique<VRequest>();
  request->what = RequestKind::Recv;
  request->buffer = buffer;
  request->count = count;
  request->type = type;
  request->peer = source;
  request->tag = tag;
  request->comm = comm;
  VRequest* raw = request.get();
  Passage passage;  // posted and registered in one passage (see post_send)
  start_receive_held(raw, call);
  registry().pending.push_back(std::move(request));
  return raw;
}

void wait_for(VRequest* request) {
  for (unsigned spins = 0;; ++spins) {
    {
      Passage passage;
      if (progress(request)) {
        return;
      }
    }
    gate().pause_point();
    if (spins >= 32) {
      sched_yield();
    }
  }
}

void retire(VRequest* request, MPI_Status* status) {
  if (status != MPI_STATUS_IGNORE) {
    *status = request->status;
  }
  Passage passage;  // the drain walks the pending list while the gate holds every call
  auto& pending = registry().pending;
  auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& p) { return p.get() == request; });
  if (it != pending.end()) {
    pending.erase(it);
  }
}

}  // namespace crmpi
