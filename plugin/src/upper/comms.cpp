#include "comms.h"

#include <numeric>

#include "lower_api.h"
#include "lower_half.h"

namespace crmpi {
namespace {

MPI_Group g_world_group = nullptr;

uint64_t child_id(uint64_t parent, uint64_t index) {
  uint64_t x = parent * 0x9e3779b97f4a7c15ull + index;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return x == 0 ? 1 : x;
}

}  // namespace

MPI_Comm lower_comm_null() { return static_cast<MPI_Comm>(lower_predefined(MPI_COMM_NULL)); }
MPI_Group lower_group_null() { return static_cast<MPI_Group>(lower_predefined(MPI_GROUP_NULL)); }

MPI_Group lower_world_group() {
  if (g_world_group == nullptr) {
    check(lower.Comm_group(world().real, &g_world_group), "MPI_Comm_group");
  }
  return g_world_group;
}

void reset_lower_cache() { g_world_group = nullptr; }

std::vector<int> world_ranks_of(MPI_Group real) {
  int size = 0;
  check(lower.Group_size(real, &size), "MPI_Group_size");
  std::vector<int> ranks(static_cast<size_t>(size));
  std::iota(ranks.begin(), ranks.end(), 0);
  std::vector<int> world(static_cast<size_t>(size));
  if (size > 0) {
    check(lower.Group_translate_ranks(real, size, ranks.data(), lower_world_group(), world.data()),
          "MPI_Group_translate_ranks");
  }
  return world;
}

MPI_Group make_lower_group(const std::vector<int>& world_ranks) {
  MPI_Group group = nullptr;
  check(lower.Group_incl(lower_world_group(), static_cast<int>(world_ranks.size()),
                         const_cast<int*>(world_ranks.data()), &group),
        "MPI_Group_incl");
  return group;
}

MPI_Comm adopt_comm(VComm* parent, MPI_Comm real) {
  uint64_t id = child_id(parent->id, ++parent->children);
  if (real == lower_comm_null()) {
    return MPI_COMM_NULL;
  }
  auto comm = std::make_unique<VComm>();
  comm->real = real;
  comm->id = id;
  check(lower.Comm_rank(real, &comm->rank), "MPI_Comm_rank");
  MPI_Group group = nullptr;
  check(lower.Comm_group(real, &group), "MPI_Comm_group");
  comm->world = world_ranks_of(group);
  lower.Group_free(&group);
  registry().comms.push_back(std::move(comm));
  return reinterpret_cast<MPI_Comm>(registry().comms.back().get());
}

MPI_Group adopt_group(MPI_Group real) {
  auto group = std::make_unique<VGroup>();
  group->world = world_ranks_of(real);
  group->real = real;
  registry().groups.push_back(std::move(group));
  return reinterpret_cast<MPI_Group>(registry().groups.back().get());
}

}  // namespace crmpi
