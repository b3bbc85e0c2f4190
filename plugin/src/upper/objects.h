// The virtual MPI objects the application holds. An MPI_Comm, MPI_Group, MPI_Datatype, MPI_Op or
// MPI_Request the layer hands out is a pointer to one of these (predefined objects such as
// MPI_COMM_WORLD or MPI_INT stay the application's own addresses). Each records how it was made, so
// that it can be made again against a fresh lower half after a restart.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "predefined.h"

namespace crmpi {

inline constexpr uint64_t kMagic = 0x63726d7069766f62ull;  // "crmpivob"

enum class Kind : uint32_t { Comm = 1, Group, Type, Op, Request };

struct Object {
  uint64_t magic = kMagic;
  Kind kind;
  explicit Object(Kind k) : kind(k) {}
};

struct VComm : Object {
  VComm() : Object(Kind::Comm) {}
  MPI_Comm real = nullptr;    // in the lower half
  MPI_Comm shadow = nullptr;  // world only: lifecycle.h's world_shadow(), made when first needed
  uint64_t id = 0;            // the same on every member: creation order on the parent
  uint64_t children = 0;      // communicators created from this one so far
  std::vector<int> world;     // world rank of each member, in this communicator's order
  int rank = -1;
  uint64_t collectives = 0;  // collective calls entered on this communicator (the cut counts these)
  uint64_t target = 0;       // during a quiesce: how many every member will have entered at the cut
  bool freed = false;
  MPI_Errhandler errhandler = MPI_ERRORS_ARE_FATAL;  // the application's (upper) handle
};

struct VGroup : Object {
  VGroup() : Object(Kind::Group) {}
  MPI_Group real = nullptr;
  std::vector<int> world;  // world rank of each member (-1 never occurs: groups of COMM_WORLD only)
};

enum class TypeRecipe : uint32_t { Contiguous, Vector, Hvector, Indexed, Hindexed, IndexedBlock, Struct, Resized, Dup };

struct VType : Object {
  VType() : Object(Kind::Type) {}
  MPI_Datatype real = nullptr;
  TypeRecipe recipe{};
  int count = 0;
  std::vector<int> ints;            // blocklengths / displacements (indexed) / stride (vector)
  std::vector<MPI_Aint> addresses;  // byte displacements, stride, lb/extent
  std::vector<MPI_Datatype> bases;  // the application's handles of the old types
  int size = -1;                    // MPI_Type_size in bytes (negative: unknown or MPI_UNDEFINED), set with real
  bool committed = false;
  bool freed = false;
};

struct VOp : Object {
  VOp() : Object(Kind::Op) {}
  MPI_Op real = nullptr;
  MPI_User_function* function = nullptr;
  int commute = 0;
  int slot = -1;  // the trampoline that converts datatype handles for the user function
  bool freed = false;
};

enum class RequestKind : uint32_t { Send, Recv };

struct VRequest : Object {
  VRequest() : Object(Kind::Request) {}
  RequestKind what = RequestKind::Send;
  MPI_Request real = nullptr;  // lower; nullptr once complete
  bool complete = false;
  bool detached = false;  // MPI_Request_free'd: nobody will ask for it
  MPI_Status status{};    // valid once complete
  // The recipe, for receives re-posted after a restart.
  void* buffer = nullptr;
  int count = 0;
  MPI_Datatype type = nullptr;  // the application's handle
  int peer = 0;                 // communicator rank, MPI_ANY_SOURCE or MPI_PROC_NULL
  int tag = 0;
  VComm* comm = nullptr;
};

// ---- translation between the application's handles and the lower half's ----
// The fast paths (predefined communicators and datatypes, which most calls name) are inline: a
// comparison, or one probe of the predefined table (predefined.h).

VComm* vcomm_slow(MPI_Comm comm, const char* call);  // aborts the job on a handle that is not one
inline VComm* vcomm(MPI_Comm comm, const char* call);
MPI_Datatype real_type_slow(MPI_Datatype type, const char* call);
inline MPI_Datatype real_type(MPI_Datatype type, const char* call) {
  if (void* lower_handle = g_predefined.lower_of(type); lower_handle != nullptr) [[likely]] {
    return static_cast<MPI_Datatype>(lower_handle);
  }
  return real_type_slow(type, call);
}
// A datatype's lower handle and its size in bytes (negative when MPI_Type_size fails or says
// MPI_UNDEFINED): cached on the VType, and beside a predefined type's table entry at its first use.
struct SizedType {
  MPI_Datatype real;
  int size;
};
SizedType sized_type_slow(MPI_Datatype type, const char* call);
inline SizedType sized_type(MPI_Datatype type, const char* call) {
  if (auto [lower_handle, size] = g_predefined.sized(type);
      lower_handle != nullptr && size != PredefinedTable::kSizeUnknown) [[likely]] {
    return {static_cast<MPI_Datatype>(lower_handle), size};
  }
  return sized_type_slow(type, call);
}
MPI_Datatype upper_type(MPI_Datatype lower);
// For arguments MPI ignores (a non-root's receive type, with MPI_IN_PLACE): the lower half's
// MPI_DATATYPE_NULL when the handle is not a datatype at all.
MPI_Datatype optional_type(MPI_Datatype type);  // for user reduction functions
// A predefined operation (MPI_SUM...) by one probe of the table, like a predefined datatype; the
// application's own operations (VOp) otherwise.
MPI_Op real_op_slow(MPI_Op op, const char* call);
inline MPI_Op real_op(MPI_Op op, const char* call) {
  if (void* lower_handle = g_predefined.lower_of(op); lower_handle != nullptr) [[likely]] {
    return static_cast<MPI_Op>(lower_handle);
  }
  return real_op_slow(op, call);
}
VGroup* vgroup(MPI_Group group, const char* call);
VRequest* vrequest(MPI_Request request, const char* call);  // nullptr for MPI_REQUEST_NULL

template <typename T>
T* as(void* handle, Kind kind) {
  auto* object = static_cast<Object*>(handle);
  return object != nullptr && object->magic == kMagic && object->kind == kind ? static_cast<T*>(object) : nullptr;
}

// ---- the registries (kept forever: recipes refer to freed objects too) ----

struct Registry {
  std::deque<std::unique_ptr<VComm>> comms;  // in creation order; [0] world, [1] self
  std::deque<std::unique_ptr<VGroup>> groups;
  std::deque<std::unique_ptr<VType>> types;
  std::deque<std::unique_ptr<VOp>> ops;
  std::vector<std::unique_ptr<VRequest>> pending;  // requests not yet completed for the application
  VComm* world = nullptr;                          // comms[0] and comms[1], for the hot path
  VComm* self = nullptr;
};

extern Registry g_registry;
inline Registry& registry() { return g_registry; }
inline VComm& world() { return *g_registry.world; }
inline VComm& self() { return *g_registry.self; }

inline VComm* vcomm(MPI_Comm comm, const char* call) {
  if (comm == MPI_COMM_WORLD) [[likely]] {
    return g_registry.world;
  }
  return vcomm_slow(comm, call);
}

[[noreturn]] void fatal(const char* call, const std::string& why);
[[noreturn]] void check_failed(int rc, const char* call);
// A lower-half error code: aborts with its text unless MPI_SUCCESS.
inline void check(int rc, const char* call) {
  if (rc != MPI_SUCCESS) [[unlikely]] {
    check_failed(rc, call);
  }
}

}  // namespace crmpi
