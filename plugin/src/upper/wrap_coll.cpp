// Collectives: counted per communicator (the quiesce's cut), passed to the lower half unchanged but
// for the handles. MPI_IN_PLACE and MPI_BOTTOM are the same constants in both halves.
#include "gate.h"
#include "lower_api.h"
#include "objects.h"

using namespace crmpi;

#define TYPE(t) real_type(t, call)
#define OP(o) real_op(o, call)

extern "C" {

int MPI_Barrier(MPI_Comm comm) {
  const char* call = "MPI_Barrier";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  return lower.Barrier(c->real);
}

int MPI_Bcast(void* buf, int count, MPI_Datatype type, int root, MPI_Comm comm) {
  const char* call = "MPI_Bcast";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  return lower.Bcast(buf, count, t, root, c->real);
}

int MPI_Reduce(const void* sbuf, void* rbuf, int count, MPI_Datatype type, MPI_Op op, int root, MPI_Comm comm) {
  const char* call = "MPI_Reduce";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  MPI_Op o = OP(op);
  return lower.Reduce(sbuf, rbuf, count, t, o, root, c->real);
}

int MPI_Allreduce(const void* sbuf, void* rbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  const char* call = "MPI_Allreduce";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  MPI_Op o = OP(op);
  return lower.Allreduce(sbuf, rbuf, count, t, o, c->real);
}

int MPI_Gather(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype, int root,
               MPI_Comm comm) {
  const char* call = "MPI_Gather";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = optional_type(rtype);
  return lower.Gather(sbuf, scount, st, rbuf, rcount, rt, root, c->real);
}

int MPI_Gatherv(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, const int rcounts[], const int displs[],
                MPI_Datatype rtype, int root, MPI_Comm comm) {
  const char* call = "MPI_Gatherv";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = optional_type(rtype);
  return lower.Gatherv(sbuf, scount, st, rbuf, rcounts, displs, rt, root, c->real);
}

int MPI_Scatter(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype, int root,
                MPI_Comm comm) {
  const char* call = "MPI_Scatter";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = optional_type(rtype);
  return lower.Scatter(sbuf, scount, st, rbuf, rcount, rt, root, c->real);
}

int MPI_Scatterv(const void* sbuf, const int scounts[], const int displs[], MPI_Datatype stype, void* rbuf, int rcount,
                 MPI_Datatype rtype, int root, MPI_Comm comm) {
  const char* call = "MPI_Scatterv";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = optional_type(rtype);
  return lower.Scatterv(sbuf, scounts, displs, st, rbuf, rcount, rt, root, c->real);
}

int MPI_Allgather(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                  MPI_Comm comm) {
  const char* call = "MPI_Allgather";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = TYPE(rtype);
  return lower.Allgather(sbuf, scount, st, rbuf, rcount, rt, c->real);
}

int MPI_Allgatherv(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, const int rcounts[],
                   const int displs[], MPI_Datatype rtype, MPI_Comm comm) {
  const char* call = "MPI_Allgatherv";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = TYPE(rtype);
  return lower.Allgatherv(sbuf, scount, st, rbuf, rcounts, displs, rt, c->real);
}

int MPI_Alltoall(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                 MPI_Comm comm) {
  const char* call = "MPI_Alltoall";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = TYPE(rtype);
  return lower.Alltoall(sbuf, scount, st, rbuf, rcount, rt, c->real);
}

int MPI_Alltoallv(const void* sbuf, const int scounts[], const int sdispls[], MPI_Datatype stype, void* rbuf,
                  const int rcounts[], const int rdispls[], MPI_Datatype rtype, MPI_Comm comm) {
  const char* call = "MPI_Alltoallv";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype st = optional_type(stype);
  MPI_Datatype rt = TYPE(rtype);
  return lower.Alltoallv(sbuf, scounts, sdispls, st, rbuf, rcounts, rdispls, rt, c->real);
}

int MPI_Reduce_scatter(const void* sbuf, void* rbuf, const int rcounts[], MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  const char* call = "MPI_Reduce_scatter";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  MPI_Op o = OP(op);
  return lower.Reduce_scatter(sbuf, rbuf, rcounts, t, o, c->real);
}

int MPI_Reduce_scatter_block(const void* sbuf, void* rbuf, int rcount, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  const char* call = "MPI_Reduce_scatter_block";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  MPI_Op o = OP(op);
  return lower.Reduce_scatter_block(sbuf, rbuf, rcount, t, o, c->real);
}

int MPI_Scan(const void* sbuf, void* rbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  const char* call = "MPI_Scan";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  MPI_Op o = OP(op);
  return lower.Scan(sbuf, rbuf, count, t, o, c->real);
}

int MPI_Exscan(const void* sbuf, void* rbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  const char* call = "MPI_Exscan";
  VComm* c = vcomm(comm, call);
  Passage passage(c);  // before any translation: a restart may happen while waiting here
  MPI_Datatype t = TYPE(type);
  MPI_Op o = OP(op);
  return lower.Exscan(sbuf, rbuf, count, t, o, c->real);
}

}  // extern "C"
