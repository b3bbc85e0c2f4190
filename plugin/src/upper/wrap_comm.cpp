// Communicators and groups. Every communicator records its members as world ranks, so that after a
// restart it is made again with MPI_Comm_create_group on the new MPI_COMM_WORLD.
#include "comms.h"
#include "gate.h"
#include "lower_api.h"
#include "lower_half.h"
#include "objects.h"

using namespace crmpi;

namespace {

MPI_Group group_result(int rc, MPI_Group real, MPI_Group* out, const char* call) {
  check(rc, call);
  *out = real == lower_group_null() ? MPI_GROUP_NULL : adopt_group(real);
  return *out;
}

}  // namespace

extern "C" {

int MPI_Comm_rank(MPI_Comm comm, int* rank) {
  *rank = vcomm(comm, "MPI_Comm_rank")->rank;
  return MPI_SUCCESS;
}

int MPI_Comm_size(MPI_Comm comm, int* size) {
  *size = static_cast<int>(vcomm(comm, "MPI_Comm_size")->world.size());
  return MPI_SUCCESS;
}

int MPI_Comm_dup(MPI_Comm comm, MPI_Comm* newcomm) {
  VComm* c = vcomm(comm, "MPI_Comm_dup");
  MPI_Comm real = nullptr;
  {
    Passage passage(c);
    check(lower.Comm_dup(c->real, &real), "MPI_Comm_dup");
  }
  *newcomm = adopt_comm(c, real);
  return MPI_SUCCESS;
}

int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm* newcomm) {
  VComm* c = vcomm(comm, "MPI_Comm_split");
  MPI_Comm real = nullptr;
  {
    Passage passage(c);
    check(lower.Comm_split(c->real, color, key, &real), "MPI_Comm_split");
  }
  *newcomm = adopt_comm(c, real);
  return MPI_SUCCESS;
}

int MPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm* newcomm) {
  VComm* c = vcomm(comm, "MPI_Comm_create");
  MPI_Comm real = nullptr;
  {
    Passage passage(c);
    MPI_Group g = group == MPI_GROUP_EMPTY ? static_cast<MPI_Group>(lower_predefined(MPI_GROUP_EMPTY))
                                           : vgroup(group, "MPI_Comm_create")->real;
    check(lower.Comm_create(c->real, g, &real), "MPI_Comm_create");
  }
  *newcomm = adopt_comm(c, real);
  return MPI_SUCCESS;
}

int MPI_Comm_free(MPI_Comm* comm) {
  if (*comm == MPI_COMM_WORLD || *comm == MPI_COMM_SELF) {
    fatal("MPI_Comm_free", "MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed");
  }
  VComm* c = vcomm(*comm, "MPI_Comm_free");
  {
    Passage passage;
    check(lower.Comm_free(&c->real), "MPI_Comm_free");
  }
  c->freed = true;
  *comm = MPI_COMM_NULL;
  return MPI_SUCCESS;
}

int MPI_Comm_compare(MPI_Comm a, MPI_Comm b, int* result) {
  VComm* x = vcomm(a, "MPI_Comm_compare");
  VComm* y = vcomm(b, "MPI_Comm_compare");
  Passage passage;
  return lower.Comm_compare(x->real, y->real, result);
}

int MPI_Comm_group(MPI_Comm comm, MPI_Group* group) {
  VComm* c = vcomm(comm, "MPI_Comm_group");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Comm_group(c->real, &real);
  group_result(rc, real, group, "MPI_Comm_group");
  return MPI_SUCCESS;
}

int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler handler) {
  VComm* c = vcomm(comm, "MPI_Comm_set_errhandler");
  Passage passage;
  void* real = lower_predefined(handler);
  if (real == nullptr) {
    fatal("MPI_Comm_set_errhandler", "only the predefined error handlers are supported");
  }
  check(lower.Comm_set_errhandler(c->real, static_cast<MPI_Errhandler>(real)), "MPI_Comm_set_errhandler");
  c->errhandler = handler;
  return MPI_SUCCESS;
}

int MPI_Group_size(MPI_Group group, int* size) {
  *size = group == MPI_GROUP_EMPTY ? 0 : static_cast<int>(vgroup(group, "MPI_Group_size")->world.size());
  return MPI_SUCCESS;
}

int MPI_Group_rank(MPI_Group group, int* rank) {
  VGroup* g = vgroup(group, "MPI_Group_rank");
  Passage passage;
  return lower.Group_rank(g->real, rank);
}

int MPI_Group_incl(MPI_Group group, int n, const int ranks[], MPI_Group* out) {
  VGroup* g = vgroup(group, "MPI_Group_incl");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_incl(g->real, n, ranks, &real);
  group_result(rc, real, out, "MPI_Group_incl");
  return MPI_SUCCESS;
}

int MPI_Group_excl(MPI_Group group, int n, const int ranks[], MPI_Group* out) {
  VGroup* g = vgroup(group, "MPI_Group_excl");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_excl(g->real, n, ranks, &real);
  group_result(rc, real, out, "MPI_Group_excl");
  return MPI_SUCCESS;
}

int MPI_Group_range_incl(MPI_Group group, int n, int ranges[][3], MPI_Group* out) {
  VGroup* g = vgroup(group, "MPI_Group_range_incl");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_range_incl(g->real, n, ranges, &real);
  group_result(rc, real, out, "MPI_Group_range_incl");
  return MPI_SUCCESS;
}

int MPI_Group_range_excl(MPI_Group group, int n, int ranges[][3], MPI_Group* out) {
  VGroup* g = vgroup(group, "MPI_Group_range_excl");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_range_excl(g->real, n, ranges, &real);
  group_result(rc, real, out, "MPI_Group_range_excl");
  return MPI_SUCCESS;
}

int MPI_Group_union(MPI_Group a, MPI_Group b, MPI_Group* out) {
  VGroup* x = vgroup(a, "MPI_Group_union");
  VGroup* y = vgroup(b, "MPI_Group_union");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_union(x->real, y->real, &real);
  group_result(rc, real, out, "MPI_Group_union");
  return MPI_SUCCESS;
}

int MPI_Group_intersection(MPI_Group a, MPI_Group b, MPI_Group* out) {
  VGroup* x = vgroup(a, "MPI_Group_intersection");
  VGroup* y = vgroup(b, "MPI_Group_intersection");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_intersection(x->real, y->real, &real);
  group_result(rc, real, out, "MPI_Group_intersection");
  return MPI_SUCCESS;
}

int MPI_Group_difference(MPI_Group a, MPI_Group b, MPI_Group* out) {
  VGroup* x = vgroup(a, "MPI_Group_difference");
  VGroup* y = vgroup(b, "MPI_Group_difference");
  Passage passage;
  MPI_Group real = nullptr;
  int rc = lower.Group_difference(x->real, y->real, &real);
  group_result(rc, real, out, "MPI_Group_difference");
  return MPI_SUCCESS;
}

int MPI_Group_translate_ranks(MPI_Group a, int n, const int ranks[], MPI_Group b, int out[]) {
  VGroup* x = vgroup(a, "MPI_Group_translate_ranks");
  VGroup* y = vgroup(b, "MPI_Group_translate_ranks");
  Passage passage;
  return lower.Group_translate_ranks(x->real, n, ranks, y->real, out);
}

int MPI_Group_compare(MPI_Group a, MPI_Group b, int* result) {
  VGroup* x = vgroup(a, "MPI_Group_compare");
  VGroup* y = vgroup(b, "MPI_Group_compare");
  Passage passage;
  return lower.Group_compare(x->real, y->real, result);
}

int MPI_Group_free(MPI_Group* group) {
  VGroup* g = vgroup(*group, "MPI_Group_free");
  Passage passage;
  lower.Group_free(&g->real);
  g->real = nullptr;
  *group = MPI_GROUP_NULL;
  return MPI_SUCCESS;
}

}  // extern "C"
