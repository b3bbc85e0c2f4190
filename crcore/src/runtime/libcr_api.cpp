// The BLCR-compatible C API (include/libcr.h), on top of the runtime.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "control/control_client.h"
#include "crcore_ext.h"
#include "libcr.h"
#include "runtime/callbacks.h"
#include "runtime/critical_sections.h"
#include "runtime/manager.h"
#include "runtime/runtime_state.h"
#include "runtime/scope_request.h"

using crcore::runtime::g_runtime;

namespace {

constexpr cr_client_id_t kClientId = 1;

// Outstanding cr_request_checkpoint() requests; the handle is an index + 1.
struct PendingRequest {
  crcore::control::Connection connection;
  pid_t requester_pid = 0;  // if getpid() differs now, we are a restored image
  bool in_use = false;
  bool answered = false;
  crcore::control::Response response{};
  pid_t scope_command = 0;  // CR_SCOPE_TREE/PGRP/SESS: the cr_checkpoint doing it (scope_request.h)
};
constexpr int kMaxRequests = 64;
PendingRequest g_requests[kMaxRequests];
std::mutex g_requests_mutex;

struct cr_checkpoint_info g_checkpoint_info;
struct cr_restart_info g_restart_info;
std::atomic<int> g_persist{0};

crcore::control::After after_for_signal(int sig) {
  switch (sig) {
    case SIGKILL:
      return crcore::control::After::Kill;
    case SIGTERM:
      return crcore::control::After::Term;
    case SIGSTOP:
      return crcore::control::After::Stop;
    default:
      return crcore::control::After::Continue;
  }
}

PendingRequest* lookup(cr_checkpoint_handle_t* handle) {
  if (handle == nullptr || *handle == 0 || *handle > kMaxRequests) {
    return nullptr;
  }
  PendingRequest& r = g_requests[*handle - 1];
  return r.in_use ? &r : nullptr;
}

int request_self_to_fd(int fd) {
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_fd = fd;
  cr_checkpoint_handle_t handle;
  if (cr_request_checkpoint(&args, &handle) != 0) {
    return -1;
  }
  int rc = cr_poll_checkpoint(&handle, nullptr);
  cr_reap_checkpoint(&handle);
  return rc;
}

}  // namespace

extern "C" {

int cr_link_me = 0;

cr_client_id_t cr_init(void) {
  if (g_runtime.control_fd < 0 && g_runtime.signal == 0) {
    errno = ENOSYS;  // the runtime was disabled (CRCORE_DISABLE=1)
    return -1;
  }
  return kClientId;
}

cr_callback_id_t cr_register_callback(cr_callback_t func, void* arg, int flags) {
  if ((flags & (CR_THREAD_CONTEXT | CR_SIGNAL_CONTEXT)) == 0) {
    flags |= CR_SIGNAL_CONTEXT;
  }
  int id = crcore::runtime::register_callback(func, arg, flags);
  if (id < 0) {
    errno = func == nullptr ? EINVAL : ENOSPC;
  }
  return id;
}

int cr_replace_callback(cr_callback_id_t id, cr_callback_t func, void* arg, int flags) {
  int rc = crcore::runtime::replace_callback(id, func, arg, flags);
  if (rc < 0) {
    errno = EINVAL;
  }
  return rc;
}

int cr_replace_self(cr_callback_t func, void* arg, int flags) {
  int rc = crcore::runtime::replace_running_callback(func, arg, flags);
  if (rc < 0) {
    errno = CR_ENOTCB;
  }
  return rc;
}

int cr_checkpoint(int flags) {
  int rc = crcore::runtime::checkpoint_from_callback(flags);
  if (rc == -CR_ENOTCB) {
    errno = CR_ENOTCB;
  }
  return rc;
}

int cr_status(void) {
  if (crcore::runtime::in_callback_chain()) {
    return CR_STATE_ACTIVE;
  }
  return g_runtime.phase.load() != 0 ? CR_STATE_PENDING : CR_STATE_IDLE;
}

int cr_enter_cs(cr_client_id_t) {
  if (crcore::runtime::in_callback_chain()) {
    return 0;
  }
  return crcore::runtime::enter_critical_section(true);
}

int cr_tryenter_cs(cr_client_id_t) {
  if (crcore::runtime::in_callback_chain()) {
    return 0;
  }
  return crcore::runtime::enter_critical_section(false);
}

int cr_leave_cs(cr_client_id_t) {
  if (!crcore::runtime::in_callback_chain()) {
    crcore::runtime::leave_critical_section();
  }
  return 0;
}

int cri_init_checkpoint_args_t(cr_version_t version, cr_checkpoint_args_t* args) {
  if (args == nullptr || version != CR_CHECKPOINT_ARGS_VERSION) {
    errno = EINVAL;
    return -1;
  }
  memset(args, 0, sizeof *args);
  args->cr_version = version;
  args->cr_scope = static_cast<cr_scope_t>(-1);
  args->cr_target = 0;
  args->cr_fd = -1;
  return 0;
}

int cr_request_checkpoint(cr_checkpoint_args_t* args, cr_checkpoint_handle_t* handle) {
  if (args == nullptr || handle == nullptr || args->cr_version != CR_CHECKPOINT_ARGS_VERSION || args->cr_fd < 0) {
    errno = EINVAL;
    return -1;
  }
  if (args->cr_scope != CR_SCOPE_PROC && (args->cr_flags & CR_CHKPT_INCREMENTAL) != 0) {
    errno = EINVAL;  // incremental images are per process: not for a scope yet
    return -1;
  }
  if (args->cr_scope != CR_SCOPE_PROC) {
    std::lock_guard lock(g_requests_mutex);
    for (int i = 0; i < kMaxRequests; ++i) {
      if (!g_requests[i].in_use) {
        std::string why;
        pid_t command = crcore::runtime::start_scope_checkpoint(*args, why);
        if (command < 0) {
          return -1;
        }
        g_requests[i] = PendingRequest{};
        g_requests[i].in_use = true;
        g_requests[i].requester_pid = getpid();
        g_requests[i].scope_command = command;
        *handle = static_cast<cr_checkpoint_handle_t>(i + 1);
        return 0;
      }
    }
    errno = EAGAIN;
    return -1;
  }
  pid_t target = args->cr_target == 0 ? getpid() : args->cr_target;
  std::lock_guard lock(g_requests_mutex);
  int slot = -1;
  for (int i = 0; i < kMaxRequests; ++i) {
    if (!g_requests[i].in_use) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    errno = EAGAIN;
    return -1;
  }
  PendingRequest& r = g_requests[slot];
  if (!r.connection.connect_to(target).empty()) {
    errno = kill(target, 0) == 0 || errno == EPERM ? CR_ENOSUPPORT : ESRCH;
    return -1;
  }
  crcore::runtime::own_fd(r.connection.fd());  // before the request: the image must not contain it
  auto request = crcore::control::make_request(after_for_signal(args->cr_signal), args->cr_timeout * 1000u, false);
  if ((args->cr_flags & CR_CHKPT_INCREMENTAL) != 0) {
    request.flags |= crcore::control::kRequestIncremental;
  }
  if (!r.connection.send_request(request, args->cr_fd).empty()) {
    crcore::runtime::disown_fd(r.connection.fd());
    r.connection = crcore::control::Connection{};
    errno = EIO;
    return -1;
  }
  r.in_use = true;
  r.answered = false;
  r.requester_pid = getpid();
  *handle = static_cast<cr_checkpoint_handle_t>(slot + 1);
  return 0;
}

int cr_poll_checkpoint_msg(cr_checkpoint_handle_t* handle, struct timeval* timeout, char** msg_p) {
  PendingRequest* r = lookup(handle);
  if (r == nullptr) {
    errno = EINVAL;
    return CR_POLL_CHKPT_ERR_PRE;
  }
  if (r->requester_pid != getpid()) {
    errno = CR_ERESTARTED;  // we are the restored copy of the process that asked
    return CR_POLL_CHKPT_ERR_POST;
  }
  if (r->scope_command > 0) {
    int ms = timeout == nullptr ? -1 : static_cast<int>(timeout->tv_sec * 1000 + timeout->tv_usec / 1000);
    int rc = crcore::runtime::poll_scope_checkpoint(r->scope_command, ms);
    if (rc < 0 && errno == ECHILD) {
      errno = CR_ERESTARTED;  // restored with our pid: the command belonged to the original
      return CR_POLL_CHKPT_ERR_POST;
    }
    if (msg_p != nullptr) {
      *msg_p = strdup(rc == 1 ? "" : "the scope's checkpoint failed (cr_checkpoint's message is on stderr)");
    }
    return rc == 1 ? 1 : rc == 0 ? 0 : CR_POLL_CHKPT_ERR_POST;
  }
  if (!r->answered) {
    int ms = timeout == nullptr ? 0 : static_cast<int>(timeout->tv_sec * 1000 + timeout->tv_usec / 1000);
    if (timeout != nullptr && ms == 0) {
      ms = 1;
    }
    std::string err = r->connection.wait_response(r->response, ms);
    if (err == "timed out waiting for the checkpoint") {
      return 0;
    }
    if (!err.empty() && r->requester_pid != getpid()) {
      errno = CR_ERESTARTED;  // we were restored while waiting: the answer went to the original
      return CR_POLL_CHKPT_ERR_POST;
    }
    if (!err.empty()) {
      errno = EIO;
      return CR_POLL_CHKPT_ERR_PRE;
    }
    r->answered = true;
    if (r->response.status == 0) {
      r->connection.send_commit(true);
    }
  }
  if (msg_p != nullptr) {
    *msg_p = strdup(r->response.message);
  }
  switch (static_cast<crcore::control::Status>(r->response.status)) {
    case crcore::control::Status::Ok:
      return 1;
    case crcore::control::Status::Omitted:
      errno = CR_EOMITTED;
      break;
    case crcore::control::Status::PermFailure:
      errno = CR_EPERMFAIL;
      break;
    case crcore::control::Status::WriteFailed:
      errno = r->response.error != 0 ? r->response.error : EIO;
      break;
    case crcore::control::Status::Refused:
      errno = EPERM;
      break;
    default:
      errno = CR_ETEMPFAIL;
      break;
  }
  return CR_POLL_CHKPT_ERR_POST;
}

int cr_poll_checkpoint(cr_checkpoint_handle_t* handle, struct timeval* timeout) {
  return cr_poll_checkpoint_msg(handle, timeout, nullptr);
}

int cr_wait_checkpoint(cr_checkpoint_handle_t* handle, struct timeval* timeout) {
  return cr_poll_checkpoint(handle, timeout);
}

int cr_log_checkpoint(cr_checkpoint_handle_t* handle, unsigned int len, char* msg) {
  PendingRequest* r = lookup(handle);
  if (r == nullptr || msg == nullptr || len == 0) {
    errno = EINVAL;
    return -1;
  }
  size_t n = strnlen(r->response.message, sizeof r->response.message);
  size_t copy = n < len - 1 ? n : len - 1;
  memcpy(msg, r->response.message, copy);
  msg[copy] = '\0';
  return static_cast<int>(n);
}

int cr_reap_checkpoint(cr_checkpoint_handle_t* handle) {
  std::lock_guard lock(g_requests_mutex);
  PendingRequest* r = lookup(handle);
  if (r == nullptr) {
    errno = EINVAL;
    return -1;
  }
  if (r->requester_pid == getpid()) {
    crcore::runtime::disown_fd(r->connection.fd());
    r->connection = crcore::control::Connection{};
  } else {
    r->connection.release();  // a restored copy: that descriptor was never restored
  }
  r->in_use = false;
  *handle = 0;
  return 0;
}

int cr_forward_checkpoint(cr_scope_t, pid_t) {
  errno = ENOSYS;
  return -1;
}

const struct cr_checkpoint_info* cr_get_checkpoint_info(void) {
  const crcore::runtime::CheckpointInfo* info = crcore::runtime::current_checkpoint_info();
  if (info == nullptr || !crcore::runtime::in_callback_chain()) {
    return nullptr;
  }
  g_checkpoint_info.signal = info->signal;
  g_checkpoint_info.dest = info->dest;
  g_checkpoint_info.requester = info->requester;
  g_checkpoint_info.target = 0;
  g_checkpoint_info.scope = CR_SCOPE_PROC;
  return &g_checkpoint_info;
}

unsigned long long crcore_checkpoint_deadline_ns(void) {
  const crcore::runtime::CheckpointInfo* info = crcore::runtime::current_checkpoint_info();
  return info != nullptr && crcore::runtime::in_callback_chain() ? info->deadline_ns : 0;
}

const struct cr_restart_info* cr_get_restart_info(void) {
  if (!crcore::runtime::in_callback_chain() || g_runtime.restart_block.restarted == 0) {
    return nullptr;
  }
  g_restart_info.requester = g_runtime.restart_block.new_pid;
  g_restart_info.src = g_runtime.restart_block.image_path;
  return &g_restart_info;
}

int cri_init_restart_args_t(cr_version_t version, cr_restart_args_t* args) {
  if (args == nullptr || version != CR_RESTART_ARGS_VERSION) {
    errno = EINVAL;
    return -1;
  }
  memset(args, 0, sizeof *args);
  args->cr_version = version;
  args->cr_fd = -1;
  args->cr_flags = CR_RSTRT_RESTORE_PID;
  return 0;
}

// Restarting from inside a program is not offered: run the cr_restart command.
int cr_request_restart(cr_restart_args_t*, cr_restart_handle_t*) {
  errno = ENOSYS;
  return -1;
}
int cr_wait_restart(cr_restart_handle_t*, struct timeval*) {
  errno = ENOSYS;
  return CR_POLL_RSTRT_ERR_PRE;
}
int cr_log_restart(cr_restart_handle_t*, unsigned int, char*) {
  errno = ENOSYS;
  return -1;
}
int cr_reap_restart(cr_restart_handle_t*) {
  errno = ENOSYS;
  return -1;
}
int cr_poll_restart_msg(cr_restart_handle_t*, struct timeval*, char**) {
  errno = ENOSYS;
  return CR_POLL_RSTRT_ERR_PRE;
}
int cr_poll_restart(cr_restart_handle_t*, struct timeval*) {
  errno = ENOSYS;
  return CR_POLL_RSTRT_ERR_PRE;
}

const char* cr_strerror(int errnum) {
  switch (errnum) {
    case CR_ETEMPFAIL:
      return "Temporary failure: a checkpoint callback cancelled the checkpoint";
    case CR_EPERMFAIL:
      return "Permanent failure: a checkpoint callback cancelled the checkpoint and the job was killed";
    case CR_ENOSUPPORT:
      return "The target process is not running under crcore (no libcr loaded)";
    case CR_EVERSION:
      return "Interface version mismatch";
    case CR_EOMITTED:
      return "The process asked to be omitted from the checkpoint";
    case CR_EBADARCH:
      return "The image does not match this machine";
    case CR_EPTRACED:
      return "A target process is being ptraced";
    case CR_EPTRACER:
      return "A target process is ptracing another process";
    case CR_ERSTRTABRT:
      return "Restart aborted";
    case CR_ERESTARTED:
      return "This process was restarted from the checkpoint it requested";
    case CR_ENOTCB:
      return "Only valid inside a checkpoint callback";
    case CR_ENOINIT:
      return "The calling thread has not called cr_init()";
    default:
      return strerror(errnum);
  }
}

void cr_spinlock_init(cr_spinlock_t* lock) { __atomic_store_n(lock, 0u, __ATOMIC_RELEASE); }
void cr_spinlock_lock(cr_spinlock_t* lock) {
  while (__atomic_exchange_n(lock, 1u, __ATOMIC_ACQUIRE) != 0) {
    sched_yield();
  }
}
void cr_spinlock_unlock(cr_spinlock_t* lock) { __atomic_store_n(lock, 0u, __ATOMIC_RELEASE); }
int cr_spinlock_trylock(cr_spinlock_t* lock) { return __atomic_exchange_n(lock, 1u, __ATOMIC_ACQUIRE) == 0; }

cr_hook_fn_t cr_register_hook(cr_hook_event_t event, cr_hook_fn_t fn) {
  if (event < 0 || event >= CR_NUM_HOOKS) {
    errno = EINVAL;
    return CR_HOOK_FN_ERROR;
  }
  return crcore::runtime::register_hook(event, fn);
}

int cr_hold_ctrl(int, int flags) {
  return flags == CR_HOLD_READ ? CR_HOLD_BOTH : CR_HOLD_BOTH;  // crcore always holds (BLCR's default)
}

int cr_inc_persist(void) { return ++g_persist; }
int cr_dec_persist(void) { return --g_persist; }

// The deprecated BLCR calls are still offered; calling one from another is not a use of them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void cr_request(void) {
  char name[64];
  snprintf(name, sizeof name, "context.%d", getpid());
  cr_request_file(name);
}

void cr_request_file(const char* filename) {
  int fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    request_self_to_fd(fd);
    close(fd);
  }
}

void cr_request_fd(int fd) { request_self_to_fd(fd); }
#pragma GCC diagnostic pop

const char* crcore_version(void) { return CRCORE_VERSION_STRING; }

}  // extern "C"
