// Derived datatypes and user ops: each call records its recipe, then makes the object in the lower half.
#include "gate.h"
#include "lower_api.h"
#include "objects.h"
#include "types.h"

using namespace crmpi;

namespace {

// Registered inside the passage: a restart rebuilds the registry while every caller is held.
MPI_Datatype make(std::unique_ptr<VType> t) {
  Passage passage;
  build_type(t.get());
  registry().types.push_back(std::move(t));
  return reinterpret_cast<MPI_Datatype>(registry().types.back().get());
}

std::unique_ptr<VType> recipe(TypeRecipe r, int count, MPI_Datatype base) {
  auto t = std::make_unique<VType>();
  t->recipe = r;
  t->count = count;
  t->bases.push_back(base);
  return t;
}

}  // namespace

extern "C" {

int MPI_Type_contiguous(int count, MPI_Datatype old, MPI_Datatype* out) {
  *out = make(recipe(TypeRecipe::Contiguous, count, old));
  return MPI_SUCCESS;
}

int MPI_Type_vector(int count, int blocklength, int stride, MPI_Datatype old, MPI_Datatype* out) {
  auto t = recipe(TypeRecipe::Vector, count, old);
  t->ints = {blocklength, stride};
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_create_hvector(int count, int blocklength, MPI_Aint stride, MPI_Datatype old, MPI_Datatype* out) {
  auto t = recipe(TypeRecipe::Hvector, count, old);
  t->ints = {blocklength};
  t->addresses = {stride};
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_indexed(int count, const int blocklengths[], const int displacements[], MPI_Datatype old,
                     MPI_Datatype* out) {
  auto t = recipe(TypeRecipe::Indexed, count, old);
  t->ints.assign(blocklengths, blocklengths + count);
  t->ints.insert(t->ints.end(), displacements, displacements + count);
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_create_hindexed(int count, const int blocklengths[], const MPI_Aint displacements[], MPI_Datatype old,
                             MPI_Datatype* out) {
  auto t = recipe(TypeRecipe::Hindexed, count, old);
  t->ints.assign(blocklengths, blocklengths + count);
  t->addresses.assign(displacements, displacements + count);
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_create_indexed_block(int count, int blocklength, const int displacements[], MPI_Datatype old,
                                  MPI_Datatype* out) {
  auto t = recipe(TypeRecipe::IndexedBlock, count, old);
  t->ints.push_back(blocklength);
  t->ints.insert(t->ints.end(), displacements, displacements + count);
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_create_struct(int count, const int blocklengths[], const MPI_Aint displacements[],
                           const MPI_Datatype types[], MPI_Datatype* out) {
  auto t = std::make_unique<VType>();
  t->recipe = TypeRecipe::Struct;
  t->count = count;
  t->ints.assign(blocklengths, blocklengths + count);
  t->addresses.assign(displacements, displacements + count);
  t->bases.assign(types, types + count);
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_create_resized(MPI_Datatype old, MPI_Aint lb, MPI_Aint extent, MPI_Datatype* out) {
  auto t = recipe(TypeRecipe::Resized, 0, old);
  t->addresses = {lb, extent};
  *out = make(std::move(t));
  return MPI_SUCCESS;
}

int MPI_Type_dup(MPI_Datatype old, MPI_Datatype* out) {
  *out = make(recipe(TypeRecipe::Dup, 0, old));
  return MPI_SUCCESS;
}

int MPI_Type_commit(MPI_Datatype* type) {
  auto* t = as<VType>(*type, Kind::Type);
  if (t == nullptr) {
    return MPI_SUCCESS;  // predefined types are committed
  }
  Passage passage;
  check(lower.Type_commit(&t->real), "MPI_Type_commit");
  t->committed = true;
  return MPI_SUCCESS;
}

int MPI_Type_free(MPI_Datatype* type) {
  auto* t = as<VType>(*type, Kind::Type);
  if (t == nullptr || t->freed) {
    fatal("MPI_Type_free", "only derived datatypes can be freed");
  }
  // The lower half keeps what other types were built from it; the recipe stays for a restart.
  Passage passage;
  check(lower.Type_free(&t->real), "MPI_Type_free");
  t->freed = true;
  *type = MPI_DATATYPE_NULL;
  return MPI_SUCCESS;
}

int MPI_Type_size(MPI_Datatype type, int* size) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Type_size");
  return lower.Type_size(t, size);
}

int MPI_Type_get_extent(MPI_Datatype type, MPI_Aint* lb, MPI_Aint* extent) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Type_get_extent");
  return lower.Type_get_extent(t, lb, extent);
}

int MPI_Type_get_true_extent(MPI_Datatype type, MPI_Aint* lb, MPI_Aint* extent) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Type_get_true_extent");
  return lower.Type_get_true_extent(t, lb, extent);
}

int MPI_Op_create(MPI_User_function* function, int commute, MPI_Op* op) {
  auto o = std::make_unique<VOp>();
  o->function = function;
  o->commute = commute;
  Passage passage;  // registered inside it too (see make())
  build_op(o.get());
  registry().ops.push_back(std::move(o));
  *op = reinterpret_cast<MPI_Op>(registry().ops.back().get());
  return MPI_SUCCESS;
}

int MPI_Op_free(MPI_Op* op) {
  auto* o = as<VOp>(*op, Kind::Op);
  if (o == nullptr || o->freed) {
    fatal("MPI_Op_free", "only user operations can be freed");
  }
  Passage passage;
  check(lower.Op_free(&o->real), "MPI_Op_free");
  o->freed = true;
  *op = MPI_OP_NULL;
  return MPI_SUCCESS;
}

int MPI_Op_commutative(MPI_Op op, int* commute) {
  Passage passage;
  MPI_Op o = real_op(op, "MPI_Op_commutative");
  return lower.Op_commutative(o, commute);
}

int MPI_Reduce_local(const void* in, void* inout, int count, MPI_Datatype type, MPI_Op op) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Reduce_local");
  MPI_Op o = real_op(op, "MPI_Reduce_local");
  return lower.Reduce_local(in, inout, count, t, o);
}

int MPI_Pack(const void* in, int count, MPI_Datatype type, void* out, int size, int* position, MPI_Comm comm) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Pack");
  VComm* c = vcomm(comm, "MPI_Pack");
  return lower.Pack(in, count, t, out, size, position, c->real);
}

int MPI_Unpack(const void* in, int size, int* position, void* out, int count, MPI_Datatype type, MPI_Comm comm) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Unpack");
  VComm* c = vcomm(comm, "MPI_Unpack");
  return lower.Unpack(in, size, position, out, count, t, c->real);
}

int MPI_Pack_size(int count, MPI_Datatype type, MPI_Comm comm, int* size) {
  Passage passage;
  MPI_Datatype t = real_type(type, "MPI_Pack_size");
  VComm* c = vcomm(comm, "MPI_Pack_size");
  return lower.Pack_size(count, t, c->real, size);
}

}  // extern "C"
