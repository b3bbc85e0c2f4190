// sysv_ipc_calls.h. ASYNC-SIGNAL-SAFE: fixed tables of atomics, raw syscalls only.
#include "runtime/sysv_ipc_calls.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>

#include "runtime/runtime_state.h"

namespace crcore::runtime {
namespace {

constexpr size_t kMaxIds = 256;
constexpr size_t kMaxUndo = 512;

// id + 1 of every object used (0: a free entry), per kind. Never shrinks: an id removed since is
// skipped by the capture (IPC_STAT fails).
std::atomic<int64_t> g_ids[2][kMaxIds];
std::atomic<bool> g_ids_overflow[2];

// Net SEM_UNDO adjustment per (set, semaphore) of the process in g_undo_owner: the undo list is
// per process and not inherited by fork, so a child (another pid) starts from an empty table.
struct UndoEntry {
  std::atomic<uint64_t> key;  // (id + 1) << 16 | semaphore number; 0: free
  std::atomic<int32_t> adjustment;
};
UndoEntry g_undo[kMaxUndo];
std::atomic<pid_t> g_undo_owner{0};
std::atomic<uint32_t> g_undo_in_flight{0};
std::atomic<bool> g_undo_overflow{false};

void remember(SysvKind kind, int id) {
  if (id < 0) {
    return;
  }
  auto k = static_cast<size_t>(kind);
  int64_t want = int64_t{id} + 1;
  for (auto& slot : g_ids[k]) {
    int64_t seen = slot.load(std::memory_order_acquire);
    if (seen == want) {
      return;
    }
    if (seen == 0 && slot.compare_exchange_strong(seen, want)) {
      return;
    }
    if (seen == want) {
      return;
    }
  }
  g_ids_overflow[k].store(true);
}

pid_t current_pid() { return static_cast<pid_t>(syscall(SYS_getpid)); }

void add_undo(int id, unsigned short semaphore, int adjustment) {
  pid_t me = current_pid();
  pid_t owner = g_undo_owner.load(std::memory_order_acquire);
  if (owner != me) {  // a forked child or a restarted process: the kernel's list is not this one
    for (auto& e : g_undo) {
      e.key.store(0);
      e.adjustment.store(0);
    }
    g_undo_overflow.store(false);
    g_undo_owner.store(me, std::memory_order_release);
  }
  uint64_t key = (static_cast<uint64_t>(id) + 1) << 16 | semaphore;
  for (auto& e : g_undo) {
    uint64_t seen = e.key.load(std::memory_order_acquire);
    if (seen == 0 && e.key.compare_exchange_strong(seen, key)) {
      seen = key;
    }
    if (seen == key) {
      e.adjustment.fetch_add(adjustment);
      return;
    }
  }
  g_undo_overflow.store(true);
}

uint64_t serial() { return __atomic_load_n(&g_runtime.checkpoint_serial, __ATOMIC_ACQUIRE); }

long sem_call(int id, struct sembuf* sops, size_t count, const struct timespec* timeout) {
  remember(SysvKind::Semaphore, id);
  bool undo = false;
  for (size_t i = 0; sops != nullptr && i < count; ++i) {
    undo = undo || (sops[i].sem_flg & SEM_UNDO) != 0;
  }
  if (undo) {
    g_undo_in_flight.fetch_add(1);
  }
  long rc;
  for (;;) {
    uint64_t before = serial();
    rc = syscall(SYS_semtimedop, id, sops, count, timeout);
    if (rc == 0 || errno != EINTR || serial() == before) {
      break;  // done, or a signal of the program's own: its EINTR is the program's
    }
  }
  if (rc == 0 && undo) {
    for (size_t i = 0; i < count; ++i) {
      if ((sops[i].sem_flg & SEM_UNDO) != 0) {
        add_undo(id, sops[i].sem_num, -sops[i].sem_op);
      }
    }
  }
  if (undo) {
    int saved = errno;
    g_undo_in_flight.fetch_sub(1);
    errno = saved;
  }
  return rc;
}

}  // namespace

size_t sysv_used_ids(SysvKind kind, int32_t* out, size_t max) {
  size_t n = 0;
  for (auto& slot : g_ids[static_cast<size_t>(kind)]) {
    int64_t v = slot.load(std::memory_order_acquire);
    if (v != 0 && n < max) {
      out[n++] = static_cast<int32_t>(v - 1);
    }
  }
  return n;
}

bool sysv_pending_undo(int32_t* id, uint32_t* semaphore, int32_t* adjustment) {
  if (g_undo_owner.load(std::memory_order_acquire) != current_pid()) {
    return false;
  }
  for (auto& e : g_undo) {
    uint64_t key = e.key.load(std::memory_order_acquire);
    int32_t adj = e.adjustment.load();
    if (key != 0 && adj != 0) {
      *id = static_cast<int32_t>((key >> 16) - 1);
      *semaphore = static_cast<uint32_t>(key & 0xffff);
      *adjustment = adj;
      return true;
    }
  }
  if (g_undo_overflow.load()) {
    *id = -1;
    *semaphore = 0;
    *adjustment = 0;
    return true;
  }
  return false;
}

bool sysv_undo_in_flight() { return g_undo_in_flight.load(std::memory_order_acquire) != 0; }

}  // namespace crcore::runtime

using crcore::runtime::SysvKind;

extern "C" int semget(key_t key, int count, int flags) {
  long id = syscall(SYS_semget, key, count, flags);
  crcore::runtime::remember(SysvKind::Semaphore, static_cast<int>(id));
  return static_cast<int>(id);
}

extern "C" int msgget(key_t key, int flags) {
  long id = syscall(SYS_msgget, key, flags);
  crcore::runtime::remember(SysvKind::Queue, static_cast<int>(id));
  return static_cast<int>(id);
}

extern "C" int semop(int id, struct sembuf* sops, size_t count) {
  return static_cast<int>(crcore::runtime::sem_call(id, sops, count, nullptr));
}

extern "C" int semtimedop(int id, struct sembuf* sops, size_t count, const struct timespec* timeout) {
  // A timeout interrupted by a checkpoint starts again in full.
  return static_cast<int>(crcore::runtime::sem_call(id, sops, count, timeout));
}

extern "C" int msgsnd(int id, const void* message, size_t size, int flags) {
  crcore::runtime::remember(SysvKind::Queue, id);
  long rc;
  for (;;) {
    uint64_t before = crcore::runtime::serial();
    rc = syscall(SYS_msgsnd, id, message, size, flags);
    if (rc == 0 || errno != EINTR || crcore::runtime::serial() == before) {
      return static_cast<int>(rc);
    }
  }
}

extern "C" ssize_t msgrcv(int id, void* message, size_t size, long type, int flags) {
  crcore::runtime::remember(SysvKind::Queue, id);
  long rc;
  for (;;) {
    uint64_t before = crcore::runtime::serial();
    rc = syscall(SYS_msgrcv, id, message, size, type, flags);
    if (rc >= 0 || errno != EINTR || crcore::runtime::serial() == before) {
      return rc;
    }
  }
}
