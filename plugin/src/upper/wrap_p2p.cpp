// Point-to-point calls. Blocking ones are nonblocking ones followed by a wait, so that a checkpoint
// never finds a thread blocked inside the lower half.
#include <sched.h>

#include <vector>

#include "gate.h"
#include "lower_api.h"
#include "objects.h"
#include "requests.h"
#include "traffic.h"

using namespace crmpi;

namespace {

int blocking_send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, SendMode mode,
                  const char* call) {
  VRequest* r = post_send(buf, count, type, dest, tag, vcomm(comm, call), mode, call);
  wait_for(r);
  retire(r, MPI_STATUS_IGNORE);
  return MPI_SUCCESS;
}

MPI_Request handle(VRequest* r) { return reinterpret_cast<MPI_Request>(r); }

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
  *request = handle(post_send(buf, count, type, dest, tag, vcomm(comm, "MPI_Isend"), SendMode::Standard, "MPI_Isend"));
  return MPI_SUCCESS;
}

int MPI_Issend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  *request =
      handle(post_send(buf, count, type, dest, tag, vcomm(comm, "MPI_Issend"), SendMode::Synchronous, "MPI_Issend"));
  return MPI_SUCCESS;
}

int MPI_Irsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  *request = handle(post_send(buf, count, type, dest, tag, vcomm(comm, "MPI_Irsend"), SendMode::Ready, "MPI_Irsend"));
  return MPI_SUCCESS;
}

int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status* status) {
  VRequest* r = post_receive(buf, count, type, source, tag, vcomm(comm, "MPI_Recv"), "MPI_Recv");
  wait_for(r);
  int rc = r->status.MPI_ERROR;
  retire(r, status);
  return rc == MPI_ERR_TRUNCATE ? rc : MPI_SUCCESS;
}

int MPI_Irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Request* request) {
  *request = handle(post_receive(buf, count, type, source, tag, vcomm(comm, "MPI_Irecv"), "MPI_Irecv"));
  return MPI_SUCCESS;
}

int MPI_Sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void* recvbuf,
                 int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Sendrecv");
  VRequest* r = post_receive(recvbuf, recvcount, recvtype, source, recvtag, c, "MPI_Sendrecv");
  VRequest* s = post_send(sendbuf, sendcount, sendtype, dest, sendtag, c, SendMode::Standard, "MPI_Sendrecv");
  wait_for(s);
  wait_for(r);
  retire(s, MPI_STATUS_IGNORE);
  int rc = r->status.MPI_ERROR;
  retire(r, status);
  return rc == MPI_ERR_TRUNCATE ? rc : MPI_SUCCESS;
}

int MPI_Sendrecv_replace(void* buf, int count, MPI_Datatype type, int dest, int sendtag, int source, int recvtag,
                         MPI_Comm comm, MPI_Status* status) {
  VComm* c = vcomm(comm, "MPI_Sendrecv_replace");
  int packed = 0;
  {
    Passage passage;
    check(lower.Pack_size(count, real_type(type, "MPI_Sendrecv_replace"), c->real, &packed), "MPI_Sendrecv_replace");
  }
  std::vector<char> incoming(static_cast<size_t>(packed));
  VRequest* r = post_receive(incoming.data(), packed, MPI_PACKED, source, recvtag, c, "MPI_Sendrecv_replace");
  VRequest* s = post_send(buf, count, type, dest, sendtag, c, SendMode::Standard, "MPI_Sendrecv_replace");
  wait_for(s);
  wait_for(r);
  retire(s, MPI_STATUS_IGNORE);
  MPI_Status got = r->status;
  retire(r, status);
  if (got.MPI_SOURCE != MPI_PROC_NULL) {
    int position = 0;
    Passage passage;
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
  int flag = 0;
  for (unsigned spins = 0;; ++spins) {
    MPI_Iprobe(source, tag, comm, &flag, status);
    if (flag != 0) {
      return MPI_SUCCESS;
    }
    gate().pause_point();
    if (spins >= 32) {
      sched_yield();
    }
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
