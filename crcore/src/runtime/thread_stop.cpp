// The checkpoint signal handler and the manager's side of stopping and releasing threads.
//
// RESTRICTED CODE. The handler and everything it calls run in signal context in a thread
// that may have been interrupted anywhere (inside malloc, holding a libc lock, in the
// middle of pthread_create). Allowed: syscalls, atomics, reads of the runtime's fixed data.
// Forbidden: allocation, locks, stdio, C++ exceptions, anything that may call one of those.
#include "runtime/thread_stop.h"

#include "runtime/exclusions.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libcr.h"
#include "runtime/callbacks.h"
#include "runtime/context.h"
#include "runtime/glibc_layout.h"
#include "runtime/raw_syscall.h"

namespace crcore::runtime {
namespace {

ThreadSlot* find_slot(pid_t tid) {
  uint32_t n = __atomic_load_n(&g_runtime.slot_count, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; ++i) {
    if (g_runtime.slots[i].tid.load(std::memory_order_acquire) == tid) {
      return &g_runtime.slots[i];
    }
  }
  return nullptr;
}

// The innermost stage of a thread's signal-context chain: park until the manager releases us.
// Returns cr_checkpoint()'s value: 0 continue, 1 restart, negative when aborted.
__attribute__((noinline)) int park(void* arg) {
  ThreadSlot* slot = static_cast<ThreadSlot*>(arg);
  if (cr_save_context(&slot->record.context) != 0) {
    // Resumed by the restart stage on a new kernel thread: the world around us is the image.
    slot->state.store(static_cast<uint32_t>(SlotState::Resumed), std::memory_order_release);
    g_runtime.resumed.fetch_add(1, std::memory_order_acq_rel);
    futex_wake_all(&g_runtime.resumed);
  } else {
    slot->state.store(static_cast<uint32_t>(SlotState::Parked), std::memory_order_release);
    g_runtime.parked.fetch_add(1, std::memory_order_acq_rel);
    futex_wake_all(&g_runtime.parked);
  }
  while (g_runtime.release.load(std::memory_order_acquire) == 0) {
    futex_wait(&g_runtime.release, 0);
  }
  switch (static_cast<Outcome>(g_runtime.outcome.load(std::memory_order_acquire))) {
    case Outcome::Continue:
      return 0;
    case Outcome::Restart:
      return 1;
    default:
      return g_runtime.abort_code.load() != 0 ? g_runtime.abort_code.load() : -CR_ETEMPFAIL;
  }
}

void checkpoint_signal_handler(int, siginfo_t*, void* raw_context) {
  int saved_errno = errno;
  auto* uc = static_cast<ucontext_t*>(raw_context);
  pid_t tid = raw_gettid();
  ThreadSlot* slot = find_slot(tid);
  if (slot == nullptr || g_runtime.phase.load(std::memory_order_acquire) != static_cast<uint32_t>(Phase::Stopping)) {
    errno = saved_errno;  // a late or stray signal: nothing to do
    return;
  }
  uint64_t mask = 0;
  memcpy(&mask, &uc->uc_sigmask, sizeof mask);
  describe_current_thread(slot->record, mask, uc->uc_stack.ss_sp, uc->uc_stack.ss_size, uc->uc_stack.ss_flags);
  bool has_callbacks = thread_has_signal_callbacks();
  int rc = run_signal_context_chain(park, slot);
  if (rc >= 0) {
    // BLCR's hooks: this thread's checkpoint is over (continue, or restart).
    run_hook(rc > 0 ? (has_callbacks ? CR_HOOK_RSTRT_SIGNAL_CONTEXT : CR_HOOK_RSTRT_NO_CALLBACKS)
                    : (has_callbacks ? CR_HOOK_CONT_SIGNAL_CONTEXT : CR_HOOK_CONT_NO_CALLBACKS));
  }
  if (rc < 0 && slot->state.load() == static_cast<uint32_t>(SlotState::Signalled)) {
    // A signal-context callback refused before this thread parked.
    slot->abort_code = rc;
    int32_t expected = 0;
    g_runtime.abort_code.compare_exchange_strong(expected, rc);
    slot->state.store(static_cast<uint32_t>(SlotState::Aborted), std::memory_order_release);
    g_runtime.parked.fetch_add(1, std::memory_order_acq_rel);
    futex_wake_all(&g_runtime.parked);
  }
  errno = saved_errno;
}

bool thread_is_zombie(pid_t tid) {
  char path[64];
  // Hand-rolled formatting: snprintf is not async-signal-safe.
  const char prefix[] = "/proc/self/task/";
  size_t n = sizeof prefix - 1;
  memcpy(path, prefix, n);
  char digits[16];
  int d = 0;
  for (pid_t v = tid; v > 0; v /= 10) {
    digits[d++] = static_cast<char>('0' + v % 10);
  }
  while (d > 0) {
    path[n++] = digits[--d];
  }
  memcpy(path + n, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;  // gone
  }
  char buf[256];
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) {
    return true;
  }
  buf[got] = '\0';
  const char* close_paren = strrchr(buf, ')');
  return close_paren != nullptr && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Adds a slot and sends the signal to each thread of the process not yet signalled.
// Returns how many new threads it found, or -1 on error.
int signal_new_threads(int task_dir) {
  if (lseek(task_dir, 0, SEEK_SET) < 0) {
    return -1;
  }
  int found = 0;
  alignas(8) char buf[8192];
  pid_t self = raw_gettid();
  for (;;) {
    long got = syscall(SYS_getdents64, task_dir, buf, sizeof buf);
    if (got < 0) {
      return -1;
    }
    if (got == 0) {
      break;
    }
    for (long off = 0; off < got;) {
      auto* entry = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') {
        continue;
      }
      pid_t tid = 0;
      for (const char* p = entry->d_name; *p != '\0'; ++p) {
        tid = tid * 10 + (*p - '0');
      }
      if (tid == self || find_slot(tid) != nullptr || thread_excluded(tid)) {
        continue;  // an excluded thread (crcore_ext.h) runs on and is not saved
      }
      if (g_runtime.slot_count >= image::kMaxThreads) {
        return -1;
      }
      ThreadSlot& slot = g_runtime.slots[g_runtime.slot_count];
      memset(&slot.record, 0, sizeof slot.record);
      slot.abort_code = 0;
      slot.state.store(static_cast<uint32_t>(SlotState::Signalled), std::memory_order_relaxed);
      slot.tid.store(tid, std::memory_order_relaxed);
      __atomic_store_n(&g_runtime.slot_count, g_runtime.slot_count + 1, __ATOMIC_RELEASE);
      ++found;
      if (raw_tgkill(g_runtime.pid, tid, g_runtime.signal) != 0 || thread_is_zombie(tid)) {
        slot.state.store(static_cast<uint32_t>(SlotState::Gone), std::memory_order_release);
        g_runtime.parked.fetch_add(1, std::memory_order_acq_rel);
      }
    }
  }
  return found;
}

void append(char* out, size_t size, const char* text) {
  size_t used = strnlen(out, size);
  size_t n = strnlen(text, size);
  if (used + n + 1 > size) {
    n = size - used - 1;
  }
  memcpy(out + used, text, n);
  out[used + n] = '\0';
}

void append_number(char* out, size_t size, long value) {
  char digits[24];
  int d = 0;
  bool negative = value < 0;
  unsigned long v = negative ? static_cast<unsigned long>(-value) : static_cast<unsigned long>(value);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  char text[26];
  int n = 0;
  if (negative) {
    text[n++] = '-';
  }
  while (d > 0) {
    text[n++] = digits[--d];
  }
  text[n] = '\0';
  append(out, size, text);
}

}  // namespace

void install_checkpoint_handler(int signal) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = checkpoint_signal_handler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&action.sa_mask);  // nothing interrupts a thread while it parks
  sigaction(signal, &action, nullptr);
}

void describe_current_thread(image::ThreadRecord& record, uint64_t sigmask, const void* altstack_sp,
                             uint64_t altstack_size, int altstack_flags) {
  const GlibcLayout& layout = glibc_layout();
  record.tid = raw_gettid();
  record.flags = record.tid == g_runtime.pid ? uint32_t{image::kThreadMain} : 0u;
  record.fs_base = raw_get_fs_base();
  record.gs_base = raw_get_gs_base();
  record.sigmask = sigmask;
  record.altstack_sp = reinterpret_cast<uint64_t>(altstack_sp);
  record.altstack_size = altstack_size;
  record.altstack_flags = static_cast<uint32_t>(altstack_flags);
  void* head = nullptr;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) == 0) {
    record.robust_list = reinterpret_cast<uint64_t>(head);
    record.robust_list_len = len;
  }
  record.clear_child_tid = layout.tid_offset != 0 ? record.fs_base + layout.tid_offset : 0;
  if (layout.rseq_registered) {
    record.rseq_area = record.fs_base + static_cast<int64_t>(layout.rseq_offset);
    record.rseq_len = layout.rseq_registration_len;
    record.rseq_signature = layout.rseq_signature;
  }
  prctl(PR_GET_NAME, record.name, 0, 0, 0);
}

int stop_all_threads(uint64_t deadline_ns, char* why, size_t why_size) {
  int task_dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (task_dir < 0) {
    append(why, why_size, "cannot list the process's threads (/proc/self/task)");
    return -CR_ETEMPFAIL;
  }
  int rc = 0;
  for (;;) {
    int found = signal_new_threads(task_dir);
    if (found < 0) {
      append(why, why_size, "too many threads, or /proc/self/task unreadable");
      rc = -CR_ETEMPFAIL;
      break;
    }
    uint32_t done = g_runtime.parked.load(std::memory_order_acquire);
    if (found == 0 && done == g_runtime.slot_count) {
      break;  // everyone we know of has stopped, and nobody new appeared since
    }
    futex_wait(&g_runtime.parked, done, 2000000);  // 2 ms, then look again
    // A thread may exit after it was signalled and before it handled the signal (glibc blocks
    // every signal on its way out): such a thread is gone, not late.
    for (uint32_t i = 0; i < g_runtime.slot_count; ++i) {
      ThreadSlot& slot = g_runtime.slots[i];
      if (slot.state.load() == static_cast<uint32_t>(SlotState::Signalled) && thread_is_zombie(slot.tid.load())) {
        uint32_t expected = static_cast<uint32_t>(SlotState::Signalled);
        if (slot.state.compare_exchange_strong(expected, static_cast<uint32_t>(SlotState::Gone))) {
          g_runtime.parked.fetch_add(1);
        }
      }
    }
    if (g_runtime.abort_code.load() != 0) {
      continue;  // let the others park too, so that releasing them is orderly
    }
    if (deadline_ns != 0 && monotonic_ns() > deadline_ns) {
      for (uint32_t i = 0; i < g_runtime.slot_count; ++i) {
        ThreadSlot& slot = g_runtime.slots[i];
        if (slot.state.load() == static_cast<uint32_t>(SlotState::Signalled)) {
          append(why, why_size, "thread ");
          append_number(why, why_size, slot.tid.load());
          append(why, why_size, " did not stop in time (does it block signal ");
          append_number(why, why_size, g_runtime.signal);
          append(why, why_size, "?)");
          rc = -CR_ETEMPFAIL;
          break;
        }
      }
      if (rc != 0) {
        break;
      }
    }
  }
  close(task_dir);
  if (rc == 0 && g_runtime.abort_code.load() != 0) {
    rc = g_runtime.abort_code.load();
    append(why, why_size, "a signal-context callback refused the checkpoint");
  }
  return rc;
}

void release_threads(Outcome outcome) {
  g_runtime.outcome.store(static_cast<uint32_t>(outcome), std::memory_order_release);
  g_runtime.phase.store(static_cast<uint32_t>(Phase::Idle), std::memory_order_release);
  g_runtime.release.store(1, std::memory_order_release);
  futex_wake_all(&g_runtime.release);
}

void wait_for_resumed_threads() {
  uint32_t expected = 0;
  for (uint32_t i = 0; i < g_runtime.slot_count; ++i) {
    if (g_runtime.slots[i].state.load() == static_cast<uint32_t>(SlotState::Parked) ||
        g_runtime.slots[i].state.load() == static_cast<uint32_t>(SlotState::Resumed)) {
      ++expected;
    }
  }
  for (;;) {
    uint32_t now = g_runtime.resumed.load(std::memory_order_acquire);
    if (now >= expected) {
      return;
    }
    futex_wait(&g_runtime.resumed, now, 1000000);
  }
}

}  // namespace crcore::runtime
