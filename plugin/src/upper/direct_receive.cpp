#include "direct_receive.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "gate.h"
#include "lower_api.h"
#include "lower_half.h"
#include "phases.h"
#include "traffic.h"

namespace crmpi {

bool g_direct_receives = false;

namespace {

// The receive request ob1's next MPI_Recv will use: at MPI_THREAD_SINGLE, ob1 keeps one request between
// its blocking receives (mca_pml_ob1_recvreq, exported by mca_pml_ob1.so) and takes it at the start of
// MPI_Recv. Knowing it is what lets the waiting thread cancel a plain MPI_Recv, which is cheaper than an
// MPI_Irecv plus MPI_Wait (a request from the free list, a second call and its checks). nullptr when ob1
// is not the pml, or not loaded: then MPI_Irecv plus MPI_Wait.
void* const* g_ob1_next_receive = nullptr;

// That request, or nullptr when there is none to use (another pml, or ob1 not yet primed). Not
// MPI_REQUEST_NULL: that is the application's libmpi's object, and ob1's empty slot holds nullptr.
MPI_Request ob1_next_receive() {
  return g_ob1_next_receive != nullptr ? static_cast<MPI_Request>(*g_ob1_next_receive) : nullptr;
}

// The lower request of the receive this thread waits for inside the lower half, or nullptr. The progress
// hook sets it to nullptr when it has cancelled that receive.
constinit thread_local MPI_Request* t_waiting __attribute__((tls_model("initial-exec"))) = nullptr;

// Open MPI's low-priority progress callback (every eighth opal_progress() pass), run by whichever
// thread makes progress: in a SINGLE lower half, the one thread inside it. Cancels that thread's own
// direct receive once a checkpoint holds every call. Calls back into the lower half only through
// MPI_Cancel, which neither makes progress nor calls this hook again.
int cancel_for_checkpoint() {
  MPI_Request* waiting = t_waiting;
  if (waiting == nullptr || gate().held() != Hold::All) [[likely]] {
    return 0;
  }
  t_waiting = nullptr;
  check(lower.Cancel(waiting), "MPI_Recv (cancelled for a checkpoint)");
  return 1;
}

}  // namespace

void enable_direct_receives(int lower_thread_level) {
  g_direct_receives = false;
  g_ob1_next_receive = nullptr;  // a previous lower half's (before a restart) is gone
  if (lower_thread_level != MPI_THREAD_SINGLE) {
    return;
  }
  const char* choice = getenv("CRCORE_MPI_DIRECT_RECEIVE");
  if (choice != nullptr && strcmp(choice, "0") == 0) {
    return;
  }
  using Register = int (*)(int (*)());
  auto register_low_priority = reinterpret_cast<Register>(lower_symbol("opal_progress_register_lp"));
  g_direct_receives = register_low_priority != nullptr && register_low_priority(cancel_for_checkpoint) == 0;
  bool any_pml = choice != nullptr && strcmp(choice, "irecv") == 0;  // as with another pml (a test)
  if (void* ob1 = any_pml ? nullptr : lower_library("mca_pml_ob1.so"); ob1 != nullptr) {
    g_ob1_next_receive = static_cast<void* const*>(dlsym(ob1, "mca_pml_ob1_recvreq"));
    dlclose(ob1);  // the reference lower_library took: Open MPI keeps its pml loaded until MPI_Finalize
  }
  if (g_direct_receives && g_ob1_next_receive != nullptr && ob1_next_receive() == nullptr) {
    // ob1 keeps the request of a finished MPI_Recv only once it has had one: an empty message to this
    // rank itself on the lower MPI_COMM_SELF gives it one. That runs before the application (or, after a
    // restart, the rebuild) has posted anything in this lower half, so the receive matches only that
    // message. Should the pml be another (ob1 loaded but not chosen), the slot stays empty and receives
    // use MPI_Irecv plus MPI_Wait.
    auto self = static_cast<MPI_Comm>(lower_predefined(MPI_COMM_SELF));
    auto byte = static_cast<MPI_Datatype>(lower_predefined(MPI_BYTE));
    if (self != nullptr && byte != nullptr) {
      check(lower.Send(nullptr, 0, byte, 0, 0, self), "MPI_Init");
      check(lower.Recv(nullptr, 0, byte, 0, 0, self, MPI_STATUS_IGNORE), "MPI_Init");
    }
  }
}

const char* direct_receive_method() {
  if (!g_direct_receives) {
    return "by tests";
  }
  return ob1_next_receive() != nullptr ? "inside MPI_Recv (ob1's request)" : "inside MPI_Wait";
}

bool receive_direct(void* buf, int count, MPI_Datatype real_type, int source, int tag, VComm* comm, MPI_Status* status,
                    const char* call) {
  MPI_Request request = ob1_next_receive();
  int rc = MPI_SUCCESS;
  if (request != nullptr) [[likely]] {
    t_waiting = &request;
    rc = lower.Recv(buf, count, real_type, source, tag, comm->real, status);
  } else {
    check(lower.Irecv(buf, count, real_type, source, tag, comm->real, &request), call);
    t_waiting = &request;
    rc = lower.Wait(&request, status);
  }
  bool cancel_tried = t_waiting == nullptr;
  t_waiting = nullptr;
  check(rc, call);
  if (cancel_tried) [[unlikely]] {
    // Too late to cancel when the receive had matched a message: then it completed with it.
    int cancelled = 0;
    check(lower.Test_cancelled(status, &cancelled), call);
    if (cancelled != 0) {
      if (debug_output()) {
        fprintf(stderr,
                "crmpi: rank %d: a receive waiting inside the lower half was cancelled for a checkpoint (source %d)\n",
                world().rank, source);
      }
      return false;
    }
  }
  traffic().received(comm, status->MPI_SOURCE);
  return true;
}

}  // namespace crmpi
