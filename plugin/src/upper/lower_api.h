// The real MPI functions of the lower half, looked up by name (PMPI_*) in its namespace. One table,
// filled at every load of the lower half (at MPI_Init, and again after each restart).
#pragma once

#include <mpi.h>

namespace crmpi {

// X(name): every PMPI function the layer calls.
// clang-format off
#define CRMPI_LOWER_FUNCTIONS(X) \
  X(Init_thread) \
  X(Finalize) \
  X(Abort) \
  X(Wtime) \
  X(Wtick) \
  X(Get_processor_name) \
  X(Get_version) \
  X(Get_library_version) \
  X(Comm_rank) \
  X(Comm_size) \
  X(Comm_dup) \
  X(Comm_split) \
  X(Comm_create) \
  X(Comm_create_group) \
  X(Comm_free) \
  X(Comm_compare) \
  X(Comm_group) \
  X(Comm_set_errhandler) \
  X(Group_size) \
  X(Group_rank) \
  X(Group_incl) \
  X(Group_excl) \
  X(Group_union) \
  X(Group_intersection) \
  X(Group_difference) \
  X(Group_translate_ranks) \
  X(Group_compare) \
  X(Group_free) \
  X(Group_range_incl) \
  X(Group_range_excl) \
  X(Send) \
  X(Isend) \
  X(Issend) \
  X(Irsend) \
  X(Ibsend) \
  X(Irecv) \
  X(Test) \
  X(Wait) \
  X(Cancel) \
  X(Test_cancelled) \
  X(Request_free) \
  X(Iprobe) \
  X(Get_count) \
  X(Get_elements) \
  X(Recv) \
  X(Pack) \
  X(Unpack) \
  X(Pack_size) \
  X(Barrier) \
  X(Bcast) \
  X(Reduce) \
  X(Allreduce) \
  X(Gather) \
  X(Gatherv) \
  X(Scatter) \
  X(Scatterv) \
  X(Allgather) \
  X(Allgatherv) \
  X(Alltoall) \
  X(Alltoallv) \
  X(Reduce_scatter) \
  X(Reduce_scatter_block) \
  X(Scan) \
  X(Exscan) \
  X(Alltoallw) \
  X(Type_contiguous) \
  X(Type_vector) \
  X(Type_create_hvector) \
  X(Type_indexed) \
  X(Type_create_hindexed) \
  X(Type_create_indexed_block) \
  X(Type_create_struct) \
  X(Type_create_resized) \
  X(Type_commit) \
  X(Type_free) \
  X(Type_size) \
  X(Type_get_extent) \
  X(Type_get_true_extent) \
  X(Type_dup) \
  X(Op_create) \
  X(Op_free) \
  X(Op_commutative) \
  X(Reduce_local) \
  X(Error_string) \
  X(Error_class) \
  X(Info_create) \
  X(Info_free) \
  X(Comm_set_info)
// clang-format on

struct LowerApi {
#define CRMPI_DECLARE(name) decltype(&PMPI_##name) name = nullptr;
  CRMPI_LOWER_FUNCTIONS(CRMPI_DECLARE)
#undef CRMPI_DECLARE
};

// Valid once the lower half is loaded (MPI_Init has begun).
extern LowerApi lower;

}  // namespace crmpi
