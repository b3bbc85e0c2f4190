// Completion calls: every wait is a loop of tests with the gate's pause point in between.
#include <sched.h>

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

// Completes request i if it is done: status out, handle nulled. True if it completed now.
bool try_complete(MPI_Request* request, MPI_Status* status, const char* call) {
  VRequest* r = vrequest(*request, call);
  if (r == nullptr) {
    return false;
  }
  bool done;
  {
    Passage passage;
    done = progress(r);
  }
  if (done) {
    retire(r, status);
    *request = MPI_REQUEST_NULL;
  }
  return done;
}

void idle(unsigned spins) {
  gate().pause_point();
  if (spins >= 32) {
    sched_yield();
  }
}

MPI_Status* status_at(MPI_Status* statuses, int i) {
  return statuses == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &statuses[i];
}

}  // namespace

extern "C" {

int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status) {
  if (*request == MPI_REQUEST_NULL) {
    *flag = 1;
    empty_status(status);
    return MPI_SUCCESS;
  }
  *flag = try_complete(request, status, "MPI_Test") ? 1 : 0;
  return MPI_SUCCESS;
}

int MPI_Wait(MPI_Request* request, MPI_Status* status) {
  if (*request == MPI_REQUEST_NULL) {
    empty_status(status);
    return MPI_SUCCESS;
  }
  VRequest* r = vrequest(*request, "MPI_Wait");
  wait_for(r);
  retire(r, status);
  *request = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}

int MPI_Testall(int count, MPI_Request requests[], int* flag, MPI_Status statuses[]) {
  bool all = true;
  {
    Passage passage;
    for (int i = 0; i < count; ++i) {
      VRequest* r = vrequest(requests[i], "MPI_Testall");
      if (r != nullptr && !progress(r)) {
        all = false;
      }
    }
  }
  *flag = all ? 1 : 0;
  if (all) {  // MPI: statuses are set only when all are complete
    for (int i = 0; i < count; ++i) {
      if (requests[i] == MPI_REQUEST_NULL) {
        empty_status(status_at(statuses, i));
      } else {
        retire(vrequest(requests[i], "MPI_Testall"), status_at(statuses, i));
        requests[i] = MPI_REQUEST_NULL;
      }
    }
  }
  return MPI_SUCCESS;
}

int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[]) {
  int flag = 0;
  for (unsigned spins = 0;; ++spins) {
    MPI_Testall(count, requests, &flag, statuses);
    if (flag != 0) {
      return MPI_SUCCESS;
    }
    idle(spins);
  }
}

int MPI_Testany(int count, MPI_Request requests[], int* index, int* flag, MPI_Status* status) {
  bool any_active = false;
  for (int i = 0; i < count; ++i) {
    if (requests[i] == MPI_REQUEST_NULL) {
      continue;
    }
    any_active = true;
    if (try_complete(&requests[i], status, "MPI_Testany")) {
      *index = i;
      *flag = 1;
      return MPI_SUCCESS;
    }
  }
  *index = MPI_UNDEFINED;
  *flag = any_active ? 0 : 1;
  if (!any_active) {
    empty_status(status);
  }
  return MPI_SUCCESS;
}

int MPI_Waitany(int count, MPI_Request requests[], int* index, MPI_Status* status) {
  int flag = 0;
  for (unsigned spins = 0;; ++spins) {
    MPI_Testany(count, requests, index, &flag, status);
    if (flag != 0) {
      return MPI_SUCCESS;
    }
    idle(spins);
  }
}

int MPI_Testsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]) {
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
  *outcount = any_active ? done : MPI_UNDEFINED;
  return MPI_SUCCESS;
}

int MPI_Waitsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]) {
  for (unsigned spins = 0;; ++spins) {
    MPI_Testsome(incount, requests, outcount, indices, statuses);
    if (*outcount != 0) {
      return MPI_SUCCESS;
    }
    idle(spins);
  }
}

int MPI_Request_free(MPI_Request* request) {
  VRequest* r = vrequest(*request, "MPI_Request_free");
  if (r != nullptr) {
    // The operation still completes in the background; the quiesce tests it like any pending
    // request, and forgets it once complete.
    r->detached = true;
  }
  *request = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}

}  // extern "C"
