// The runtime's side of the kernel-module backend (see kmod_backend.h and docs/kmod.md).
#include "runtime/kmod_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crcore_ioctl.h"
#include "libcr.h"
#include "runtime/raw_syscall.h"

namespace crcore::runtime::kmod {
namespace {

int g_fd = -1;
// [signal] 1 while a kmod phase 2 accepts threads into slots.
std::atomic<uint32_t> g_stopping{0};
// The registers the module captured in the last phase 2 (4096 entries, about 800 KiB of .bss:
// never touched unless a kmod checkpoint runs).
crcore_thread_regs g_regs[CRCORE_KMOD_MAX_THREADS];
uint32_t g_regs_count = 0;

// Restricted code below (threads may be stopped anywhere): numbers are formatted by hand.
size_t format_number(char* out, long value) {
  char digits[24];
  int d = 0;
  unsigned long v = value < 0 ? static_cast<unsigned long>(-value) : static_cast<unsigned long>(value);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  size_t n = 0;
  if (value < 0) {
    out[n++] = '-';
  }
  while (d > 0) {
    out[n++] = digits[--d];
  }
  out[n] = '\0';
  return n;
}

// Writes the pieces (text, or a number where the text is nullptr) into why.
void explain(char* why, size_t size, const char* a, long n1, const char* b, long n2 = 0, const char* c = nullptr) {
  size_t used = 0;
  auto put = [&](const char* text) {
    while (text != nullptr && *text != '\0' && used + 1 < size) {
      why[used++] = *text++;
    }
  };
  char number[24];
  put(a);
  format_number(number, n1);
  put(number);
  put(b);
  if (c != nullptr) {
    format_number(number, n2);
    put(number);
    put(c);
  }
  why[used] = '\0';
}

bool zombie_or_gone(pid_t tid) {
  char path[64] = "/proc/self/task/";
  size_t n = strlen(path);
  n += format_number(path + n, tid);
  memcpy(path + n, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;
  }
  char buf[256];
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) {
    return true;
  }
  buf[got] = '\0';
  const char* paren = strrchr(buf, ')');
  return paren != nullptr && (paren[2] == 'Z' || paren[2] == 'X');
}

ThreadSlot* find_slot(pid_t tid) {
  uint32_t n = __atomic_load_n(&g_runtime.slot_count, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n && i < image::kMaxThreads; ++i) {
    if (g_runtime.slots[i].tid.load(std::memory_order_acquire) == tid) {
      return &g_runtime.slots[i];
    }
  }
  return nullptr;
}

const crcore_thread_regs* kernel_regs(pid_t tid) {
  for (uint32_t i = 0; i < g_regs_count; ++i) {
    if (g_regs[i].tid == tid) {
      return &g_regs[i];
    }
  }
  return nullptr;
}

}  // namespace

int register_process(int signal) {
  int fd = open(CRCORE_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return -1;  // no module: the user backend only
  }
  struct crcore_version version {};
  crcore_register reg{};
  reg.abi = CRCORE_KMOD_ABI;
  reg.signal = signal;
  if (ioctl(fd, CRCORE_IOC_VERSION, &version) != 0 || version.abi != CRCORE_KMOD_ABI) {
    fprintf(stderr, "crcore: %s speaks ABI %u, this libcr %d: using the user backend only\n", CRCORE_KMOD_DEVICE,
            version.abi, CRCORE_KMOD_ABI);
    close(fd);
    return -1;
  }
  if (ioctl(fd, CRCORE_IOC_REGISTER, &reg) != 0) {
    fprintf(stderr, "crcore: %s refused to register process %d: %s\n", CRCORE_KMOD_DEVICE, getpid(), strerror(errno));
    close(fd);
    return -1;
  }
  g_fd = fd;
  return fd;
}

int device_fd() { return g_fd; }

void forget(bool close_it) {
  if (close_it && g_fd >= 0) {
    close(g_fd);
  }
  g_fd = -1;
}

int take_request(TakenRequest& out) {
  crcore_take take{};
  take.abi = CRCORE_KMOD_ABI;
  if (ioctl(g_fd, CRCORE_IOC_TAKE, &take) != 0) {
    return -errno;
  }
  out.id = take.id;
  out.image_fd = take.image_fd;
  out.requester_pid = take.requester_pid;
  out.request = control::Request{};
  out.request.magic = control::kRequestMagic;
  out.request.version = control::kControlVersion;
  out.request.after = take.after;
  out.request.flags = take.flags;
  out.request.timeout_ms = take.timeout_ms;
  out.request.compress_level = take.compress_level;
  return 0;
}

ThreadSlot* claim_slot(pid_t tid, int si_code) {
  // RESTRICTED CODE: signal context.
  if (si_code != SI_KERNEL || g_stopping.load(std::memory_order_acquire) == 0) {
    return nullptr;
  }
  uint32_t index = __atomic_fetch_add(&g_runtime.slot_count, 1, __ATOMIC_ACQ_REL);
  if (index >= image::kMaxThreads) {
    return nullptr;
  }
  ThreadSlot& slot = g_runtime.slots[index];
  memset(&slot.record, 0, sizeof slot.record);
  slot.abort_code = 0;
  slot.state.store(static_cast<uint32_t>(SlotState::Signalled), std::memory_order_relaxed);
  slot.tid.store(tid, std::memory_order_release);
  return &slot;
}

int stop_all_threads(uint64_t id, uint64_t deadline_ns, char* why, size_t why_size) {
  // Slots are claimed by the threads themselves (claim_slot): no stale tid may match.
  for (auto& slot : g_runtime.slots) {
    slot.tid.store(0, std::memory_order_relaxed);
  }
  __atomic_store_n(&g_runtime.slot_count, 0, __ATOMIC_RELEASE);
  g_regs_count = 0;
  g_stopping.store(1, std::memory_order_release);
  crcore_phase2 p{};
  p.abi = CRCORE_KMOD_ABI;
  p.id = id;
  if (deadline_ns != 0) {
    uint64_t now = monotonic_ns();
    p.timeout_ms = now < deadline_ns ? static_cast<uint32_t>((deadline_ns - now) / 1000000 + 1) : 1;
  }
  p.regs = reinterpret_cast<uint64_t>(g_regs);
  p.capacity = CRCORE_KMOD_MAX_THREADS;
  if (ioctl(g_fd, CRCORE_IOC_PHASE2, &p) != 0) {
    int e = errno;
    g_stopping.store(0, std::memory_order_release);
    explain(why, why_size, "the kernel module could not stop the threads (errno ", e, ")");
    return -CR_ETEMPFAIL;
  }
  g_regs_count = p.count < CRCORE_KMOD_MAX_THREADS ? p.count : CRCORE_KMOD_MAX_THREADS;
  // Every captured thread has the signal queued: wait until each parked (or aborted), or exited
  // before its handler ran.
  int rc = 0;
  for (;;) {
    uint32_t done = g_runtime.parked.load(std::memory_order_acquire);
    uint32_t gone = 0;
    for (uint32_t i = 0; i < g_regs_count; ++i) {
      if (g_regs[i].state == CRCORE_THREAD_CAPTURED && find_slot(g_regs[i].tid) == nullptr &&
          zombie_or_gone(g_regs[i].tid)) {
        ++gone;
      }
    }
    if (done + gone >= p.captured) {
      break;
    }
    futex_wait(&g_runtime.parked, done, 2000000);
    if (g_runtime.abort_code.load() == 0 && deadline_ns != 0 && monotonic_ns() > deadline_ns) {
      for (uint32_t i = 0; i < g_regs_count; ++i) {
        ThreadSlot* slot = find_slot(g_regs[i].tid);
        if (g_regs[i].state == CRCORE_THREAD_CAPTURED &&
            (slot == nullptr || slot->state.load() == static_cast<uint32_t>(SlotState::Signalled))) {
          explain(why, why_size, "thread ", g_regs[i].tid, " did not stop in time (does it block signal ",
                  g_runtime.signal, "?)");
          break;
        }
      }
      rc = -CR_ETEMPFAIL;
      break;
    }
  }
  g_stopping.store(0, std::memory_order_release);
  if (rc == 0 && g_runtime.abort_code.load() != 0) {
    explain(why, why_size, "a signal-context callback refused the checkpoint (code ", g_runtime.abort_code.load(), ")");
    return g_runtime.abort_code.load();
  }
  if (rc != 0) {
    return rc;
  }
  // What the kernel captured must be the threads that parked: same thread, same TLS.
  uint32_t n = __atomic_load_n(&g_runtime.slot_count, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; ++i) {
    ThreadSlot& slot = g_runtime.slots[i];
    if (slot.state.load() != static_cast<uint32_t>(SlotState::Parked)) {
      continue;
    }
    const crcore_thread_regs* regs = kernel_regs(slot.tid.load());
    if (regs == nullptr || regs->state != CRCORE_THREAD_CAPTURED || regs->fs_base != slot.record.fs_base) {
      explain(why, why_size, "thread ", slot.tid.load(),
              regs == nullptr ? " parked, but the kernel module captured nothing for it"
                              : " parked, but the kernel module captured another FS base for it");
      return -CR_ETEMPFAIL;
    }
  }
  return 0;
}

bool report_result(uint64_t id, const control::Response& response, uint32_t wait_ms) {
  crcore_done done{};
  done.abi = CRCORE_KMOD_ABI;
  done.id = id;
  done.wait_ms = wait_ms;
  done.result.status = response.status;
  done.result.error = response.error;
  done.result.image_bytes = response.image_bytes;
  done.result.page_bytes = response.page_bytes;
  done.result.pause_ns = response.pause_ns;
  done.result.total_ns = response.total_ns;
  done.result.threads = response.threads;
  done.result.regions = response.regions;
  size_t length = strnlen(response.message, sizeof done.result.message - 1);  // the module keeps 255 bytes
  memcpy(done.result.message, response.message, length);
  int rc;
  do {
    rc = ioctl(g_fd, CRCORE_IOC_DONE, &done);
  } while (rc != 0 && errno == EINTR && wait_ms == 0);
  return rc == 0 && done.committed == 1;
}

}  // namespace crcore::runtime::kmod
