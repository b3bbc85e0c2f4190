#include "types.h"

#include <array>
#include <utility>
#include <vector>

#include "gate.h"
#include "lower_api.h"

namespace crmpi {
namespace {

std::vector<MPI_Datatype> real_bases(const VType* t) {
  std::vector<MPI_Datatype> out;
  for (MPI_Datatype b : t->bases) {
    out.push_back(real_type(b, "datatype construction"));
  }
  return out;
}

// User functions get the application's datatype handle, not the lower half's: one trampoline per op.
constexpr int kMaxUserOps = 64;
VOp* g_slots[kMaxUserOps];

template <int I>
void trampoline(void* in, void* inout, int* len, MPI_Datatype* type) {
  MPI_Datatype upper = upper_type(*type);
  g_slots[I]->function(in, inout, len, &upper);
}

template <int... I>
constexpr auto make_trampolines(std::integer_sequence<int, I...>) {
  return std::array<MPI_User_function*, sizeof...(I)>{&trampoline<I>...};
}
const auto g_trampolines = make_trampolines(std::make_integer_sequence<int, kMaxUserOps>{});

}  // namespace

void build_type(VType* t) {
  std::vector<MPI_Datatype> b = real_bases(t);
  MPI_Datatype out = nullptr;
  const char* call = "datatype construction";
  int rc = MPI_SUCCESS;
  const int* ints = t->ints.data();
  const MPI_Aint* addresses = t->addresses.data();
  switch (t->recipe) {
    case TypeRecipe::Contiguous:
      rc = lower.Type_contiguous(t->count, b[0], &out);
      break;
    case TypeRecipe::Vector:  // ints: blocklength, stride
      rc = lower.Type_vector(t->count, ints[0], ints[1], b[0], &out);
      break;
    case TypeRecipe::Hvector:  // ints: blocklength; addresses: stride
      rc = lower.Type_create_hvector(t->count, ints[0], addresses[0], b[0], &out);
      break;
    case TypeRecipe::Indexed:  // ints: blocklengths then displacements
      rc = lower.Type_indexed(t->count, ints, ints + t->count, b[0], &out);
      break;
    case TypeRecipe::Hindexed:
      rc = lower.Type_create_hindexed(t->count, ints, addresses, b[0], &out);
      break;
    case TypeRecipe::IndexedBlock:  // ints: blocklength then displacements
      rc = lower.Type_create_indexed_block(t->count, ints[0], ints + 1, b[0], &out);
      break;
    case TypeRecipe::Struct:
      rc = lower.Type_create_struct(t->count, ints, addresses, b.data(), &out);
      break;
    case TypeRecipe::Resized:  // addresses: lb, extent
      rc = lower.Type_create_resized(b[0], addresses[0], addresses[1], &out);
      break;
    case TypeRecipe::Dup:
      rc = lower.Type_dup(b[0], &out);
      break;
  }
  check(rc, call);
  if (t->committed) {
    check(lower.Type_commit(&out), "MPI_Type_commit");
  }
  t->real = out;
  // For the eager-send check (wrap_p2p.cpp): negative when unknown or MPI_UNDEFINED.
  if (lower.Type_size(out, &t->size) != MPI_SUCCESS || t->size == MPI_UNDEFINED) {
    t->size = -1;
  }
}

void build_op(VOp* op) {
  if (op->slot < 0) {
    for (int i = 0; i < kMaxUserOps; ++i) {
      if (g_slots[i] == nullptr) {
        op->slot = i;
        g_slots[i] = op;
        break;
      }
    }
    if (op->slot < 0) {
      fatal("MPI_Op_create", "more than 64 user reduction operations");
    }
  }
  check(lower.Op_create(g_trampolines[static_cast<size_t>(op->slot)], op->commute, &op->real), "MPI_Op_create");
}

}  // namespace crmpi
