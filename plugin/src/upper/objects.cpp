#include "objects.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "lower_api.h"
#include "lower_half.h"

namespace crmpi {

Registry g_registry;

void fatal(const char* call, const std::string& why) {
  fprintf(stderr, "crcore MPI layer: %s: %s: aborting the job\n", call, why.c_str());
  fflush(stderr);
  if (lower.Abort != nullptr && !registry().comms.empty() && world().real != nullptr) {
    lower.Abort(world().real, 1);
  }
  _exit(1);
}

void check_failed(int rc, const char* call) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int length = 0;
  if (lower.Error_string != nullptr) {
    lower.Error_string(rc, text, &length);
  }
  fatal(call, std::string("the MPI library failed: ") + text);
}

VComm* vcomm_slow(MPI_Comm comm, const char* call) {
  if (comm == MPI_COMM_WORLD) {
    return &world();
  }
  if (comm == MPI_COMM_SELF) {
    return &self();
  }
  if (auto* v = as<VComm>(comm, Kind::Comm); v != nullptr && !v->freed) {
    return v;
  }
  fatal(call, comm == MPI_COMM_NULL ? "MPI_COMM_NULL is not a valid communicator here" : "invalid communicator");
}

MPI_Datatype real_type_slow(MPI_Datatype type, const char* call) {
  if (auto* v = as<VType>(type, Kind::Type); v != nullptr) {
    return v->real;
  }
  if (void* lower_handle = lower_predefined(type); lower_handle != nullptr) {
    return static_cast<MPI_Datatype>(lower_handle);
  }
  fatal(call, "invalid datatype");
}

SizedType sized_type_slow(MPI_Datatype type, const char* call) {
  if (auto* v = as<VType>(type, Kind::Type); v != nullptr) {
    return {v->real, v->size};
  }
  MPI_Datatype real = real_type_slow(type, call);
  int size = 0;
  if (lower.Type_size(real, &size) != MPI_SUCCESS || size == MPI_UNDEFINED) {
    return {real, -1};  // the call itself reports what is wrong
  }
  g_predefined.set_size(type, size);  // only where the table has the type
  return {real, size};
}

MPI_Datatype optional_type(MPI_Datatype type) {
  if (auto* v = as<VType>(type, Kind::Type); v != nullptr) {
    return v->real;
  }
  if (type != nullptr && type != MPI_DATATYPE_NULL) {
    if (void* lower_handle = lower_predefined(type); lower_handle != nullptr) {
      return static_cast<MPI_Datatype>(lower_handle);
    }
  }
  return static_cast<MPI_Datatype>(lower_predefined(MPI_DATATYPE_NULL));
}

MPI_Datatype upper_type(MPI_Datatype lower_handle) {
  for (const auto& t : registry().types) {
    if (t->real == lower_handle) {
      return reinterpret_cast<MPI_Datatype>(t.get());
    }
  }
  return static_cast<MPI_Datatype>(upper_predefined(lower_handle));
}

MPI_Op real_op_slow(MPI_Op op, const char* call) {
  if (auto* v = as<VOp>(op, Kind::Op); v != nullptr && !v->freed) {
    return v->real;
  }
  if (void* lower_handle = lower_predefined(op); lower_handle != nullptr) {
    return static_cast<MPI_Op>(lower_handle);
  }
  fatal(call, "invalid reduction operation");
}

VGroup* vgroup(MPI_Group group, const char* call) {
  if (auto* v = as<VGroup>(group, Kind::Group); v != nullptr) {
    return v;
  }
  fatal(call, "invalid group (only groups made by MPI calls are supported, not MPI_GROUP_EMPTY)");
}

VRequest* vrequest(MPI_Request request, const char* call) {
  if (request == MPI_REQUEST_NULL) {
    return nullptr;
  }
  if (auto* v = as<VRequest>(request, Kind::Request); v != nullptr) {
    return v;
  }
  fatal(call, "invalid request");
}

}  // namespace crmpi

extern "C" [[noreturn]] void crmpi_unsupported(const char* name) {
  crmpi::fatal(name, "this MPI function is not supported by crcore's checkpointing layer");
}
