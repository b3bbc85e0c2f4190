// Point-to-point calls. Blocking ones are nonblocking ones followed by a wait, so that a checkpoint
// never finds a thread blocked inside the lower half; but a small standard send, which the lower half
// completes without its receiver (eagerly, below every transport's eager limit), is its blocking
// send, and a small receive waits inside the lower half's MPI_Recv until a
// checkpoint cancels it there (direct_receive.h). MPI_Sendrecv does the same with a small message.
#include <vector>

#include "direct_receive.h"
#include "gate.h"
#include "lower_api.h"
#include "objects.h"
#include "requests.h"
#include "traffic.h"

using namespace crmpi;

namespace {

// The lower half's handle of type when count elements of it take at most kEagerBytes; nullptr otherwise
// (a larger message, a negative count, or a size MPI does not define). The size is cached (objects.h):
// no call into the lower half to learn it.
MPI_Datatype eager_type(int count, MPI_Datatype type, const char* call) {
  if (count < 0) {
    return nullptr;
  }
  auto [real, size] = sized_type(type, call);
  return size >= 0 && static_cast<long>(count) * size <= kEagerBytes ? real : nullptr;
}

// A standard send of at most kEagerBytes: the lower half's blocking send, which completes locally. True
// when sent; false for a larger one. (Should the lower half run out of buffers, the send waits, inside
// the lower half, for its receiver's progress, which the receiver makes at the latest in its own quiesce,
// the drain; meanwhile this rank's quiesce waits for it: the gate counts it inside.)
bool send_eagerly(const void* buf, int count, MPI_Datatype type, int dest, int tag, VComm* c, const char* call) {
  MPI_Datatype real = eager_type(count, type, call);
  if (real == nullptr) {
    return false;
  }
  check(lower.Send(buf, count, real, dest, tag, c->real), call);
  traffic().sent(c, dest);
  return true;
}

// A receive of at most kEagerBytes (from a rank or MPI_ANY_SOURCE), waiting inside the lower half
// (direct_receive.h). True when received; false when the receive is not one of those, or a checkpoint
// cancelled it: then the caller receives the layer's way (which also answers MPI_PROC_NULL).
bool receive_directly(void* buf, int count, MPI_Datatype type, int source, int tag, VComm* c, MPI_Status* status,
                      const char* call) {
  if (!direct_receives_enabled() || (source < 0 && source != MPI_ANY_SOURCE) || !traffic().drained.empty()) {
    return false;
  }
  MPI_Datatype real = eager_type(count, type, call);
  if (real == nullptr) {
    return false;
  }
  MPI_Status ignored;
  return receive_direct(buf, count, real, source, tag, c, status != MPI_STATUS_IGNORE ? status : &ignored, call);
}

// A blocking receive the layer's way: a request and its waiting loop, whose pause points let a checkpoint
// have the thread.
int receive_and_wait(void* buf, int count, MPI_Datatype type, int source, int tag, VComm* c, MPI_Status* status,
                     const char* call) {
  CallRequests requests;
  VRequest receive;
  VRequest& r = requests.add(receive);
  post_receive(r, buf, count, type, source, tag, c, call);
  requests.wait_for(r);
  if (status != MPI_STATUS_IGNORE) {
    *status = r.status;
  }
  return r.status.MPI_ERROR == MPI_ERR_TRUNCATE ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
}

// One passage for the whole call: the post, the waiting loop (whose pause points let a checkpoint
// have the thread) and the retirement.
int blocking_send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, SendMode mode,
                  const char* call) {
  VComm* c = vcomm(comm, call);
  Passage passage;
  if (mode == SendMode::Standard && send_eagerly(buf, count, type, dest, tag, c, call)) {
    return MPI_SUCCESS;
  }
  CallRequests requests;
  VRequest send;
  VRequest& r = requests.add(send);
  post_send(r, buf, count, type, dest, tag, c, mode, call);
  requests.wait_for(r);
  return MPI_SUCCESS;
}

int nonblocking_send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, SendMode mode,
                     MPI_Request* request, const char* call) {
  VComm* c = vcomm(comm, call);
  Passage passage;
  *request = reinterpret_cast<MPI_Request>(post_send(buf, count, type, dest, tag, c, mode, call));
  return MPI_SUCCESS;
}

}  // namespace

extern "C" {

int MPI_Send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  return blocking_send(buf, count, type, dest, tag, comm, SendMode::Standard, "MPI_Send");
}

int MPI_Ssend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  return blocking_send(buf, count, type, dest, tag, comm, SendMode::Synchronous, "MPI_Ssend");
}

int MPI_Rsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  return blocking_send(buf, count, type, dest, tag, comm, SendMode::Ready, "MPI_Rsend");
}

int MPI_Isend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return nonblocking_send(buf, count, type, dest, tag, comm, SendMode::Standard, request, "MPI_Isend");
}

int MPI_Issend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return nonblocking_send(buf, count, type, dest, tag, comm, SendMode::Synchronous, request, "MPI_Issend");
}

int MPI_Irsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return nonblocking_send(buf, count, type, dest, tag, comm, SendMode::Ready, request, "MPI_Irsend");
}

int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Recv");
  Passage passage;
  if (receive_directly(buf, count, type, source, tag, c, status, "MPI_Recv")) [[likely]] {
    return MPI_SUCCESS;
  }
  return receive_and_wait(buf, count, type, source, tag, c, status, "MPI_Recv");
}

int MPI_Irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Request* request) {
  VComm* c = vcomm(comm, "MPI_Irecv");
  Passage passage;
  *request = reinterpret_cast<MPI_Request>(post_receive(buf, count, type, source, tag, c, "MPI_Irecv"));
  return MPI_SUCCESS;
}

int MPI_Sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void* recvbuf,
                 int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Sendrecv");
  Passage passage;
  // A small send completes locally, so it may go first (even to this rank itself); then the receive,
  // directly when it is small too.
  if (send_eagerly(sendbuf, sendcount, sendtype, dest, sendtag, c, "MPI_Sendrecv")) {
    if (receive_directly(recvbuf, recvcount, recvtype, source, recvtag, c, status, "MPI_Sendrecv")) {
      return MPI_SUCCESS;
    }
    return receive_and_wait(recvbuf, recvcount, recvtype, source, recvtag, c, status, "MPI_Sendrecv");
  }
  CallRequests requests;
  VRequest receive;
  VRequest& r = requests.add(receive);
  post_receive(r, recvbuf, recvcount, recvtype, source, recvtag, c, "MPI_Sendrecv");
  VRequest send;
  VRequest& s = requests.add(send);
  post_send(s, sendbuf, sendcount, sendtype, dest, sendtag, c, SendMode::Standard, "MPI_Sendrecv");
  requests.wait_for(s);
  requests.wait_for(r);
  if (status != MPI_STATUS_IGNORE) {
    *status = r.status;
  }
  return r.status.MPI_ERROR == MPI_ERR_TRUNCATE ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
}

int MPI_Sendrecv_replace(void* buf, int count, MPI_Datatype type, int dest, int sendtag, int source, int recvtag,
                         MPI_Comm comm, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Sendrecv_replace");
  Passage passage;
  int packed = 0;
  check(lower.Pack_size(count, real_type(type, "MPI_Sendrecv_replace"), c->real, &packed), "MPI_Sendrecv_replace");
  std::vector<char> incoming(static_cast<size_t>(packed));
  CallRequests requests;
  VRequest receive;
  VRequest& r = requests.add(receive);
  post_receive(r, incoming.data(), packed, MPI_PACKED, source, recvtag, c, "MPI_Sendrecv_replace");
  VRequest send;
  VRequest& s = requests.add(send);
  post_send(s, buf, count, type, dest, sendtag, c, SendMode::Standard, "MPI_Sendrecv_replace");
  requests.wait_for(s);
  requests.wait_for(r);
  MPI_Status got = r.status;
  if (status != MPI_STATUS_IGNORE) {
    *status = got;
  }
  if (got.MPI_SOURCE != MPI_PROC_NULL) {
    int position = 0;
    // The lower half may have been replaced while waiting (a restart): translate again.
    check(lower.Unpack(incoming.data(), static_cast<int>(got._ucount), &position, buf, count,
                       real_type(type, "MPI_Sendrecv_replace"), c->real),
          "MPI_Sendrecv_replace");
  }
  return MPI_SUCCESS;
}

int MPI_Iprobe(int source, int tag, MPI_Comm comm, int* flag, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Iprobe");
  Passage passage;
  if (const Drained* m = traffic().find(c, source, tag); m != nullptr) {
    traffic().fill_status(*m, status);
    *flag = 1;
    return MPI_SUCCESS;
  }
  check(lower.Iprobe(source, tag, c->real, flag, status), "MPI_Iprobe");
  return MPI_SUCCESS;
}

int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Probe");
  Passage passage;
  for (unsigned spins = 0;; ++spins) {
    if (const Drained* m = traffic().find(c, source, tag); m != nullptr) {
      traffic().fill_status(*m, status);
      return MPI_SUCCESS;
    }
    int flag = 0;
    check(lower.Iprobe(source, tag, c->real, &flag, status), "MPI_Probe");
    if (flag != 0) {
      return MPI_SUCCESS;
    }
    idle(spins);
  }
}

int MPI_Get_count(const MPI_Status* status, MPI_Datatype type, int* count) {
  Passage passage;
  return lower.Get_count(status, real_type(type, "MPI_Get_count"), count);
}

int MPI_Get_elements(const MPI_Status* status, MPI_Datatype type, int* count) {
  Passage passage;
  return lower.Get_elements(status, real_type(type, "MPI_Get_elements"), count);
}

}  // extern "C"
