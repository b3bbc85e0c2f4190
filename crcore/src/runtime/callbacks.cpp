// libcr callback registry and the nested chain protocol (see callbacks.h).
#include "runtime/callbacks.h"

#include <pthread.h>

#include <atomic>
#include <mutex>

namespace crcore::runtime {
namespace {

struct Entry {
  std::atomic<cr_callback_t> func{nullptr};
  std::atomic<void*> arg{nullptr};
  std::atomic<int> flags{0};
  std::atomic<pthread_t> owner{0};  // registering thread: stable across a restart, unlike its tid
};

Entry g_entries[kMaxCallbacks];
std::atomic<int> g_entry_count{0};
std::mutex g_register_mutex;

// Where a chain stands on the calling thread. It lives on that thread's stack, so a restored
// process finds it exactly as it was.
struct Chain {
  int indices[kMaxCallbacks];
  bool called[kMaxCallbacks];
  int count;
  int current;       // position of the running callback, -1 outside any
  int aborted;       // 0, or the -CR_E* code the chain ends with
  int stage_result;  // what the innermost stage returned
  ChainStage stage;
  void* stage_arg;
};

// Initial-exec TLS: safe to use in a signal handler.
__attribute__((tls_model("initial-exec"))) thread_local Chain* t_chain = nullptr;

bool is_thread_context(int flags) { return (flags & CR_THREAD_CONTEXT) != 0; }

// Runs the chain from `position` inwards; returns what cr_checkpoint() gives its callers.
int advance(Chain& chain, int position) {
  if (chain.aborted != 0) {
    return chain.aborted;
  }
  if (position == chain.count) {
    chain.stage_result = chain.stage(chain.stage_arg);
    return chain.stage_result;
  }
  Entry& entry = g_entries[chain.indices[position]];
  cr_callback_t func = entry.func.load(std::memory_order_acquire);
  void* arg = entry.arg.load(std::memory_order_acquire);
  int saved = chain.current;
  chain.current = position;
  chain.called[position] = false;
  int rc = func != nullptr ? func(arg) : 0;
  if (!chain.called[position]) {
    chain.called[position] = true;
    if (rc != 0 && chain.aborted == 0) {
      chain.aborted = -CR_EPERMFAIL;  // BLCR: a failing callback aborts, and the process is killed
    } else {
      advance(chain, position + 1);
    }
  }
  chain.current = saved;
  return chain.aborted != 0 ? chain.aborted : chain.stage_result;
}

// As in BLCR: the last registered callback is the outermost, and runs first.
void collect(Chain& chain, bool thread_context, pthread_t self) {
  int n = g_entry_count.load(std::memory_order_acquire);
  chain.count = 0;
  for (int i = n - 1; i >= 0; --i) {
    Entry& e = g_entries[i];
    if (e.func.load(std::memory_order_acquire) == nullptr) {
      continue;
    }
    int flags = e.flags.load(std::memory_order_relaxed);
    if (is_thread_context(flags) != thread_context) {
      continue;
    }
    if (!thread_context && !pthread_equal(e.owner.load(std::memory_order_relaxed), self)) {
      continue;
    }
    chain.indices[chain.count++] = i;
  }
}

int run_chain(bool thread_context, ChainStage stage, void* arg) {
  Chain chain;
  chain.current = -1;
  chain.aborted = 0;
  chain.stage_result = 0;
  chain.stage = stage;
  chain.stage_arg = arg;
  collect(chain, thread_context, pthread_self());
  Chain* outer = t_chain;
  t_chain = &chain;
  int result = advance(chain, 0);
  t_chain = outer;
  return result;
}

int abort_code(int flags) {
  if ((flags & CR_CHECKPOINT_PERM_FAILURE) != 0) {
    return -CR_EPERMFAIL;
  }
  if ((flags & CR_CHECKPOINT_TEMP_FAILURE) != 0) {
    return -CR_ETEMPFAIL;
  }
  return -CR_EOMITTED;
}

}  // namespace

cr_callback_id_t register_callback(cr_callback_t func, void* arg, int flags) {
  if (func == nullptr) {
    return -1;
  }
  std::lock_guard lock(g_register_mutex);
  int n = g_entry_count.load(std::memory_order_relaxed);
  if (n >= kMaxCallbacks) {
    return -1;
  }
  Entry& e = g_entries[n];
  e.arg.store(arg, std::memory_order_relaxed);
  e.flags.store(flags, std::memory_order_relaxed);
  e.owner.store(pthread_self(), std::memory_order_relaxed);
  e.func.store(func, std::memory_order_release);
  g_entry_count.store(n + 1, std::memory_order_release);
  // BLCR's ids: an index tagged with the context bit.
  return n | (flags & (CR_THREAD_CONTEXT | CR_SIGNAL_CONTEXT));
}

int replace_callback(cr_callback_id_t id, cr_callback_t func, void* arg, int flags) {
  std::lock_guard lock(g_register_mutex);
  id &= CR_MAX_CALLBACKS;
  if (id < 0 || id >= g_entry_count.load(std::memory_order_relaxed)) {
    return -1;
  }
  Entry& e = g_entries[id];
  e.arg.store(arg, std::memory_order_relaxed);
  e.flags.store(flags, std::memory_order_relaxed);
  e.func.store(func, std::memory_order_release);  // nullptr unregisters
  return 0;
}

int run_thread_context_chain(ChainStage stage, void* arg) { return run_chain(true, stage, arg); }

int run_signal_context_chain(ChainStage stage, void* arg) { return run_chain(false, stage, arg); }

int checkpoint_from_callback(int flags) {
  Chain* chain = t_chain;
  if (chain == nullptr || chain->current < 0) {
    return -CR_ENOTCB;
  }
  int position = chain->current;
  if (chain->called[position]) {
    return -CR_ENOTCB;  // a callback calls cr_checkpoint() once
  }
  chain->called[position] = true;
  if ((flags & CR_CHECKPOINT_ABORT_MASK) != 0) {
    if (chain->aborted == 0) {
      chain->aborted = abort_code(flags);
    }
    return chain->aborted;
  }
  return advance(*chain, position + 1);
}

bool in_callback_chain() { return t_chain != nullptr; }

int replace_running_callback(cr_callback_t func, void* arg, int flags) {
  Chain* chain = t_chain;
  if (chain == nullptr || chain->current < 0) {
    return -1;
  }
  return replace_callback(chain->indices[chain->current], func, arg, flags);
}

bool thread_has_signal_callbacks() {
  int n = g_entry_count.load(std::memory_order_acquire);
  pthread_t self = pthread_self();
  for (int i = 0; i < n; ++i) {
    const Entry& e = g_entries[i];
    if (e.func.load(std::memory_order_acquire) != nullptr &&
        !is_thread_context(e.flags.load(std::memory_order_relaxed)) &&
        pthread_equal(e.owner.load(std::memory_order_relaxed), self)) {
      return true;
    }
  }
  return false;
}

namespace {
std::atomic<cr_hook_fn_t> g_hooks[CR_NUM_HOOKS];
}  // namespace

cr_hook_fn_t register_hook(cr_hook_event_t event, cr_hook_fn_t fn) { return g_hooks[event].exchange(fn); }

void run_hook(cr_hook_event_t event) {
  cr_hook_fn_t fn = g_hooks[event].load(std::memory_order_acquire);
  if (fn != nullptr) {
    fn(event);
  }
}

}  // namespace crcore::runtime
