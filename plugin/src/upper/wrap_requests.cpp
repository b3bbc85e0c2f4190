// Completion calls: every wait is a loop of tests with the gate's pause point in between, all inside
// one passage.
#include "gate.h"
#include "objects.h"
#include "requests.h"
#include "traffic.h"

using namespace crmpi;

namespace {

// MPI's empty status (for null or inactive requests).
void empty_status(MPI_Status* status) {
  if (status != MPI_STATUS_IGNORE) {
    status->MPI_SOURCE = MPI_ANY_SOURCE;
    status->MPI_TAG = MPI_ANY_TAG;
    status->MPI_ERROR = MPI_SUCCESS;
    status->_cancelled = 0;
    status->_ucount = 0;
  }
}

// Completes request i if it is done: status out, handle nulled. True if it completed now. Inside a
// passage.
bool try_complete(MPI_Request* request, MPI_Status* status, const char* call) {
  VRequest* r = vrequest(*request, call);
  if (r == nullptr || !progress(r)) {
    return false;
  }
  retire(r, status);
  *request = MPI_REQUEST_NULL;
  return true;
}

MPI_Status* status_at(MPI_Status* statuses, int i) {
  return statuses == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &statuses[i];
}

// The -all, -any and -some tests (inside a passage). True when all are complete.
bool test_all(int count, MPI_Request requests[], MPI_Status statuses[]) {
  for (int i = 0; i < count; ++i) {
    VRequest* r = vrequest(requests[i], "MPI_Testall");
    if (r != nullptr && !progress(r)) {
      return false;
    }
  }
  // MPI: statuses are set only when all are complete
  for (int i = 0; i < count; ++i) {
    if (requests[i] == MPI_REQUEST_NULL) {
      empty_status(status_at(statuses, i));
    } else {
      retire(vrequest(requests[i], "MPI_Testall"), status_at(statuses, i));
      requests[i] = MPI_REQUEST_NULL;
    }
  }
  return true;
}

// True when it is done: a request completed (index set), or none is active (index MPI_UNDEFINED).
bool test_any(int count, MPI_Request requests[], int* index, MPI_Status* status) {
  bool any_active = false;
  for (int i = 0; i < count; ++i) {
    if (requests[i] == MPI_REQUEST_NULL) {
      continue;
    }
    any_active = true;
    if (try_complete(&requests[i], status, "MPI_Testany")) {
      *index = i;
      return true;
    }
  }
  *index = MPI_UNDEFINED;
  if (!any_active) {
    empty_status(status);
  }
  return !any_active;
}

// How many completed (MPI_UNDEFINED when none is active).
int test_some(int incount, MPI_Request requests[], int indices[], MPI_Status statuses[]) {
  bool any_active = false;
  int done = 0;
  for (int i = 0; i < incount; ++i) {
    if (requests[i] == MPI_REQUEST_NULL) {
      continue;
    }
    any_active = true;
    if (try_complete(&requests[i], status_at(statuses, done), "MPI_Testsome")) {
      indices[done++] = i;
    }
  }
  return any_active ? done : MPI_UNDEFINED;
}

}  // namespace

extern "C" {

int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status) {
  if (*request == MPI_REQUEST_NULL) {
    *flag = 1;
    empty_status(status);
    return MPI_SUCCESS;
  }
  Passage passage;
  *flag = try_complete(request, status, "MPI_Test") ? 1 : 0;
  return MPI_SUCCESS;
}

int MPI_Wait(MPI_Request* request, MPI_Status* status) {
  if (*request == MPI_REQUEST_NULL) {
    empty_status(status);
    return MPI_SUCCESS;
  }
  VRequest* r = vrequest(*request, "MPI_Wait");
  Passage passage;
  wait_for(r);
  retire(r, status);
  *request = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}

int MPI_Testall(int count, MPI_Request requests[], int* flag, MPI_Status statuses[]) {
  Passage passage;
  *flag = test_all(count, requests, statuses) ? 1 : 0;
  return MPI_SUCCESS;
}

int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[]) {
  Passage passage;
  for (unsigned spins = 0; !test_all(count, requests, statuses); ++spins) {
    idle(spins);
  }
  return MPI_SUCCESS;
}

int MPI_Testany(int count, MPI_Request requests[], int* index, int* flag, MPI_Status* status) {
  Passage passage;
  *flag = test_any(count, requests, index, status) ? 1 : 0;
  return MPI_SUCCESS;
}

int MPI_Waitany(int count, MPI_Request requests[], int* index, MPI_Status* status) {
  Passage passage;
  for (unsigned spins = 0; !test_any(count, requests, index, status); ++spins) {
    idle(spins);
  }
  return MPI_SUCCESS;
}

int MPI_Testsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]) {
  Passage passage;
  *outcount = test_some(incount, requests, indices, statuses);
  return MPI_SUCCESS;
}

int MPI_Waitsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]) {
  Passage passage;
  for (unsigned spins = 0; (*outcount = test_some(incount, requests, indices, statuses)) == 0; ++spins) {
    idle(spins);
  }
  return MPI_SUCCESS;
}

int MPI_Request_free(MPI_Request* request) {
  VRequest* r = vrequest(*request, "MPI_Request_free");
  if (r != nullptr) {
    // The operation still completes in the background; the quiesce tests it like any pending
    // request, and forgets it once complete.
    Passage passage;
    r->detached = true;
  }
  *request = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}

}  // extern "C"
