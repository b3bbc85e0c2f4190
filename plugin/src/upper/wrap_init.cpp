// MPI_Init and friends, and the calls that need no object translation.
#include <cstring>
#include <stdexcept>

#include "gate.h"
#include "lifecycle.h"
#include "lower_api.h"
#include "lower_half.h"
#include "objects.h"

using namespace crmpi;

namespace {

int init(int* argc, char*** argv, int required, int* provided) {
  std::lock_guard starting(life().starting);
  if (life().initialized) {
    fatal("MPI_Init", "called twice");
  }
  try {
    start_lower_half(argc, argv);
  } catch (const std::exception& e) {
    fatal("MPI_Init", e.what());
  }
  // The lower half runs MPI_THREAD_MULTIPLE (the layer drains from its own thread); the application
  // gets at most MPI_THREAD_SERIALIZED.
  life().thread_level = required < MPI_THREAD_SERIALIZED ? required : MPI_THREAD_SERIALIZED;
  if (provided != nullptr) {
    *provided = life().thread_level;
  }
  life().initialized = true;
  return MPI_SUCCESS;
}

}  // namespace

extern "C" {

int MPI_Init(int* argc, char*** argv) { return init(argc, argv, MPI_THREAD_SINGLE, nullptr); }

int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
  return init(argc, argv, required, provided);
}

int MPI_Initialized(int* flag) {
  *flag = life().initialized ? 1 : 0;
  return MPI_SUCCESS;
}

int MPI_Finalized(int* flag) {
  *flag = life().finalized ? 1 : 0;
  return MPI_SUCCESS;
}

int MPI_Query_thread(int* provided) {
  *provided = life().thread_level;
  return MPI_SUCCESS;
}

// Never during a checkpoint: waits while one holds calls, and a checkpoint asked for after this point
// is refused by this rank (its lower half is being finalised: its PMIx client and network go away).
int MPI_Finalize(void) {
  gate().begin_finalize();
  prepare_thread_for_lower_half();
  int rc = lower.Finalize();
  life().finalized = true;
  return rc;
}

int MPI_Abort(MPI_Comm comm, int code) {
  VComm* c = vcomm(comm, "MPI_Abort");
  return lower.Abort(c->real, code);
}

// Through the gate like every call into the lower half (no thread may be inside it at a checkpoint).
double MPI_Wtime(void) {
  Passage passage;
  return lower.Wtime();
}

double MPI_Wtick(void) {
  Passage passage;
  return lower.Wtick();
}

int MPI_Get_processor_name(char* name, int* length) {
  Passage passage;
  return lower.Get_processor_name(name, length);
}

int MPI_Get_version(int* version, int* subversion) {
  *version = MPI_VERSION;
  *subversion = MPI_SUBVERSION;
  return MPI_SUCCESS;
}

int MPI_Get_library_version(char* version, int* length) {
  Passage passage;
  if (lower.Get_library_version != nullptr) {
    return lower.Get_library_version(version, length);
  }
  *length = snprintf(version, MPI_MAX_LIBRARY_VERSION_STRING, "Open MPI (not initialised)");
  return MPI_SUCCESS;
}

int MPI_Error_string(int code, char* text, int* length) {
  Passage passage;
  if (lower.Error_string != nullptr) {
    return lower.Error_string(code, text, length);
  }
  *length = snprintf(text, MPI_MAX_ERROR_STRING, "MPI error %d", code);
  return MPI_SUCCESS;
}

int MPI_Error_class(int code, int* error_class) {
  Passage passage;
  if (lower.Error_class != nullptr) {
    return lower.Error_class(code, error_class);
  }
  *error_class = code;
  return MPI_SUCCESS;
}

}  // extern "C"
