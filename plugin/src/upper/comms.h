// Making virtual communicators and groups from lower-half ones, and making the lower-half ones again
// after a restart.
#pragma once

#include <mpi.h>

#include <vector>

#include "objects.h"

namespace crmpi {

// The lower half's MPI_COMM_NULL / MPI_GROUP_NULL.
MPI_Comm lower_comm_null();
MPI_Group lower_group_null();
MPI_Group lower_world_group();  // of the current lower half (cached; reset by reset_lower_cache)
void reset_lower_cache();

// A new communicator created (collectively) from parent; `real` may be the lower MPI_COMM_NULL, then
// the result is MPI_COMM_NULL. The id is counted either way, so it agrees on every member.
MPI_Comm adopt_comm(VComm* parent, MPI_Comm real);
// A group from the lower half (freed there afterwards: groups are kept as world-rank lists).
MPI_Group adopt_group(MPI_Group real);
std::vector<int> world_ranks_of(MPI_Group real);
// A lower-half group with these world ranks.
MPI_Group make_lower_group(const std::vector<int>& world);

}  // namespace crmpi
