// The manager thread (see manager.h).
#include "runtime/manager.h"

#include "runtime/exclusions.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/usable_cpus.h"
#include "image/zstd_workspace.h"
#include "libcr.h"
#include "runtime/callbacks.h"
#include "runtime/capture_arena.h"
#include "runtime/context.h"
#include "runtime/critical_sections.h"
#include "runtime/dirty_tracker.h"
#include "runtime/fault_injection.h"
#include "runtime/image_dump.h"
#include "runtime/kmod_backend.h"
#include "runtime/pending_signals.h"
#include "runtime/raw_syscall.h"
#include "runtime/region_advice.h"
#include "runtime/region_policy.h"
#include "runtime/resource_capture.h"
#include "runtime/restart_resources.h"
#include "runtime/runtime_state.h"
#include "runtime/safe_io.h"
#include "runtime/scope_barrier.h"
#include "runtime/shared_staging.h"
#include "runtime/sysv_shm_attach.h"
#include "runtime/thread_stop.h"
#include "runtime/topology.h"

namespace crcore::runtime {
namespace {

// After a restart: what the runtime gives back itself from the image it came from (one walk of its
// records): NUMA policies of ranges (region_policy.h), then SysV shared memory over the ranges the
// stage filled (sysv_shm_attach.h).
void reapply_image_resources() {
  const char* path = g_runtime.restart_block.image_path;
  // The restored threads are still parked, and one may hold a malloc lock (restart_resources.h):
  // without such records nothing below may run.
  if (path[0] == '\0' || !image_has_runtime_resources(path)) {
    return;
  }
  RestartResources image;
  if (!read_restart_resources(path, image)) {
    fprintf(stderr,
            "crcore: restarted process %d: cannot walk %s again for its NUMA policies of ranges and SysV shared "
            "memory: %s\n",
            getpid(), path, strerror(errno));
    return;
  }
  reapply_region_policies(image);
  reattach_sysv_segments(image);
}

constexpr int kRestarted = 1;
constexpr int kForked = 2;

CaptureArena g_arena;
std::unique_ptr<image::ZstdWorkspace> g_zstd;
CheckpointInfo g_info;
pid_t g_unreaped_writer = 0;      // the last copy-on-write writer, once it has reported
bool g_huge_page_advice = false;  // the last image held MADV_HUGEPAGE regions (after_answer collapses them)
uint64_t g_kmod_request = 0;      // set by serve_kmod for the checkpoint it starts

// Whether a behaviour that is on by default stays on: unless NAME=0 in the process's environment.
bool enabled_unless_zero(const char* name) {
  const char* env = getenv(name);
  return env == nullptr || strcmp(env, "0") != 0;
}

// How many threads compress the image with --compress: the CPUs this process may use (at most 8),
// or CRCORE_COMPRESS_THREADS from its environment (1: the writer alone). Normal context.
int compress_threads() {
  if (const char* env = getenv("CRCORE_COMPRESS_THREADS"); env != nullptr && *env != '\0') {
    return std::clamp(atoi(env), 1, image::ZstdWorkspace::kMaxThreads);
  }
  return std::clamp(usable_cpus(), 1, 8);
}

// Whether compressed page chunks may be byte-shuffled first (image/byte_shuffle.h): yes, unless
// CRCORE_COMPRESS_SHUFFLE=0. Normal context.
bool compress_shuffle() { return enabled_unless_zero("CRCORE_COMPRESS_SHUFFLE"); }

// Whether the image's long page records are hashed by a second thread while they are written
// (image/hash_ahead.h): when the process may use two CPUs, unless CRCORE_HASH_THREAD=0. Normal context.
bool hash_thread_wanted() { return enabled_unless_zero("CRCORE_HASH_THREAD") && usable_cpus() >= 2; }

void reap_writer() {
  if (g_unreaped_writer > 0) {
    int status = 0;
    while (waitpid(g_unreaped_writer, &status, __WCLONE) < 0 && errno == EINTR) {
    }
    g_unreaped_writer = 0;
  }
}
bool g_info_valid = false;

// Whether the request's image is written by a forked copy-on-write writer while the process goes on
// (not in place: --no-cow, or --kill, after which it never runs again).
bool copy_on_write(const control::Request& request) {
  return (request.flags & control::kRequestInPlace) == 0 &&
         static_cast<control::After>(request.after) != control::After::Kill;
}

// Everything one checkpoint needs, reachable from the chain's innermost stage.
struct Checkpoint {
  control::Request request;
  int image_fd;
  int connection_fd;
  int pipe_probe[2];
  int result_pipe[2];                   // from the copy-on-write writer
  FdCapture descriptors;                // captured before the copy-on-write writer forks
  MemoryCapture memory;                 // regions, captured while stopped (dirty tracker, copy-on-write)
  IncrementalPlan plan;                 // the dirty tracker's
  std::vector<ForkAdvice> fork_advice;  // lifted for the copy-on-write writer's fork (region_advice.h)
  SharedStaging staging;                // shared memory copied for the copy-on-write writer
  bool copy_on_write;
  bool hash_thread;  // hash_thread_wanted(), asked in prepare
  uint64_t kmod_id;  // the kernel module's request id; 0: the user backend (tgkill)
  pid_t writer_pid;
  uint64_t deadline_ns;
  uint64_t pause_start_ns;
  uint64_t pause_ns;
  DumpResult dump;
  control::Status status;
  int error;
  char why[512];
};

void set_status(Checkpoint& c, control::Status status, int error, const char* why) {
  c.status = status;
  c.error = error;
  if (c.why[0] == '\0' && why != nullptr) {
    snprintf(c.why, sizeof c.why, "%s", why);
  }
}

int create_control_socket() {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  struct stat ns;
  if (stat("/proc/self/ns/pid", &ns) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  int n = control::control_socket_name(ns.st_ino, getpid(), addr.sun_path, sizeof addr.sun_path);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 16) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

// Saves the manager's context, then writes the image. Returns kRestarted when the restart stage
// resumes the manager here. Nothing below may rely on locals written after cr_save_context.
DumpRequest make_dump_request(const Checkpoint& c) {
  DumpRequest dump;
  dump.identity = {getpid(), getppid(), getpgid(0), getsid(0)};
  dump.image_fd = c.image_fd;
  dump.zstd = (c.request.flags & control::kRequestCompress) != 0 ? g_zstd.get() : nullptr;
  dump.hash_thread = c.hash_thread;
  dump.allow_unsupported_fds = (c.request.flags & control::kRequestCloseUnsupported) != 0;
  dump.scope_member = (c.request.flags & control::kRequestScope) != 0;
  dump.exclude.count = 0;
  for (int fd : {g_runtime.control_fd, c.connection_fd, c.image_fd, c.result_pipe[0], c.result_pipe[1],
                 kmod::device_fd(), tracker_fd()}) {
    if (fd >= 0) {
      dump.exclude.fds[dump.exclude.count++] = fd;
    }
  }
  for (const auto& owned : g_runtime.owned_fds) {
    int value = owned.load();
    if (value > 0) {
      dump.exclude.fds[dump.exclude.count++] = value - 1;
    }
  }
  dump.pipe_probe[0] = c.pipe_probe[0];
  dump.pipe_probe[1] = c.pipe_probe[1];
  return dump;
}

// What the copy-on-write writer (a forked child) reports through the result pipe.
struct WriterResult {
  int rc;
  DumpResult dump;
  char why[512];
};

// The image written by the manager itself, every thread stopped.
int dump_in_place(Checkpoint& c, const DumpRequest& dump) {
  int rc = dump_image(g_arena, dump, c.dump, c.why, sizeof c.why);
  return rc < 0 ? rc : 0;
}

// Saves the manager's context, then writes the image: in place, or (copy-on-write) in a forked
// child that has a frozen copy of the whole address space, so that the application can run on.
// Returns kRestarted when the restart stage resumes the manager here, kForked when a child
// writes. Nothing below may rely on locals written after cr_save_context.
__attribute__((noinline)) int save_and_dump(Checkpoint& c) {
  ThreadSlot& self = g_runtime.manager_slot;
  if (cr_save_context(&self.record.context) != 0) {
    return kRestarted;
  }
  DumpRequest dump = make_dump_request(c);
  // Dirty tracking: what changed since the last image, and protection again, while still stopped.
  bool incremental = (c.request.flags & control::kRequestIncremental) != 0;
  if (tracker_before_dump(g_arena, c.memory, incremental, c.plan) == 0) {
    dump.memory = &c.memory;
    dump.plan = &c.plan;
  }
  if (c.copy_on_write) {
    // Descriptors first, here, while every thread is stopped (see DumpRequest::descriptors).
    int rc = capture_fds(g_arena, dump.exclude, dump.pipe_probe, dump.allow_unsupported_fds, c.descriptors, c.why,
                         sizeof c.why, dump.scope_member);
    if (rc != 0) {
      return rc;
    }
    dump.descriptors = &c.descriptors;
    // The regions as they are now (the writer checks that each is still mapped in its copy), and
    // the advice that would keep memory out of the writer's copy, lifted for the fork.
    if (dump.memory == nullptr) {
      rc = capture_regions(g_arena, c.memory, c.why, sizeof c.why);
      if (rc != 0) {
        return rc;
      }
      dump.memory = &c.memory;
    }
    // Shared memory is the same pages in the writer's copy and goes on changing: copied now.
    rc = stage_shared_regions(g_arena, c.memory, c.staging, c.why, sizeof c.why);
    if (rc != 0) {
      c.why[0] = '\0';  // no room for the copy: written in place instead (below)
      return dump_in_place(c, dump);
    }
    rc = lift_fork_advice(c.fork_advice.data(), c.fork_advice.size(), c.why, sizeof c.why);
    if (rc != 0) {
      release_shared_staging(c.staging);
      forget_shared_staging(g_arena, c.memory);
      return rc;
    }
    dump.lifted = c.fork_advice.data();
    dump.lifted_count = c.fork_advice.size();
    dump.in_fork_child = true;
    // A raw clone: no atfork handlers (a stopped thread may hold their locks), and no exit
    // signal, so that the application's wait(-1) never reaps our writer.
    long pid = syscall(SYS_clone, 0L, nullptr, nullptr, nullptr, 0L);
    if (pid == 0) {
      // RESTRICTED CODE: the child of a multithreaded process; syscalls only (dump_image is).
      WriterResult result{};
      fault_point(FaultPoint::WriterBeforeRecords);
      result.rc = dump_image(g_arena, dump, result.dump, result.why, sizeof result.why);
      fault_point(FaultPoint::WriterBeforeFsync);
      // The writer flushes the image itself: an error of the device (EIO) is its to report.
      if (result.rc == 0 && fsync(dump.image_fd) != 0 && errno != EINVAL && errno != EROFS) {
        result.rc = -errno;
        static const char kWhy[] = "flushing the image to storage failed";
        memcpy(result.why, kWhy, sizeof kWhy);
      }
      fault_point(FaultPoint::WriterAfterFsync);
      write_all(c.result_pipe[1], &result, sizeof result);
      syscall(SYS_exit_group, result.rc == 0 ? 0 : 1);
    }
    restore_fork_advice(c.fork_advice.data(), c.fork_advice.size());
    dump.in_fork_child = false;         // (no fork: written in place below, with the advice as it is)
    release_shared_staging(c.staging);  // the writer has its own copy of it
    forget_shared_staging(g_arena, c.memory);
    if (pid > 0) {
      // Only the writer may hold the write end: if it dies, the manager reads end-of-file at once
      // instead of waiting forever on a pipe it keeps open itself.
      close(c.result_pipe[1]);
      c.result_pipe[1] = -1;
      c.writer_pid = static_cast<pid_t>(pid);
      return kForked;
    }
    // No fork (memory limits?): write in place.
  }
  return dump_in_place(c, dump);
}

// wait_for_writer's value when the writer died without reporting (c.why says how).
constexpr int kWriterDied = -ECHILD;

// Collects the copy-on-write writer's result. 0, -errno, or kWriterDied.
int wait_for_writer(Checkpoint& c) {
  WriterResult result{};
  size_t got = 0;
  while (got < sizeof result) {
    ssize_t n = read(c.result_pipe[0], reinterpret_cast<char*>(&result) + got, sizeof result - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  // The writer is reaped after the requester has its answer (reap_writer): tearing down its copy of
  // a large address space takes a while, and nobody needs to wait for it.
  g_unreaped_writer = c.writer_pid;
  if (got != sizeof result) {
    // Died before it reported: say how (its image is incomplete, or not flushed; never renamed).
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(c.writer_pid, &status, __WCLONE)) < 0 && errno == EINTR) {
    }
    if (done == c.writer_pid) {
      g_unreaped_writer = 0;
    }
    if (done == c.writer_pid && WIFSIGNALED(status)) {
      snprintf(c.why, sizeof c.why, "the image writer (process %d) was killed by signal %d (%s)", c.writer_pid,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
      snprintf(c.why, sizeof c.why, "the image writer (process %d) died before it reported", c.writer_pid);
    }
    return kWriterDied;
  }
  c.dump = result.dump;
  if (result.rc != 0) {
    snprintf(c.why, sizeof c.why, "%s", result.why);
  }
  return result.rc;
}

void apply_restart_flags() {
  uint32_t flags = g_runtime.restart_block.flags;
  if ((flags & kRestartKill) != 0) {
    kill(getpid(), SIGKILL);
  } else if ((flags & kRestartTerm) != 0) {
    kill(getpid(), SIGTERM);
  } else if ((flags & kRestartStop) != 0) {
    kill(getpid(), SIGSTOP);
  }
}

// The manager after a restart: the process around it is the image, in a new pid.
int come_back(Checkpoint& c) {
  g_runtime.pid = getpid();
  g_runtime.answering.store(0, std::memory_order_release);  // the image was taken while it was set
  forget_request_fds();                                     // the image left them out
  g_runtime.manager_tid.store(raw_gettid());
  wait_for_resumed_threads();
  const RestartBlock& rb = g_runtime.restart_block;
  if (rb.stage_length != 0) {
    munmap(reinterpret_cast<void*>(rb.stage_start), rb.stage_length);
  }
  forget_exclusions();
  if (rb.reserved != 0) {  // cr_restart's environment, in a memfd (crcore_restart_environment)
    adopt_restart_environment(static_cast<int>(rb.reserved) - 1);
  }
  // Descriptors, mappings and children the image left out are gone: forget them.
  g_arena = CaptureArena{};
  tracker_forget();
  g_unreaped_writer = 0;
  c.image_fd = -1;
  c.connection_fd = -1;
  c.pipe_probe[0] = c.pipe_probe[1] = -1;
  c.result_pipe[0] = c.result_pipe[1] = -1;
  g_runtime.control_fd = -1;
  kmod::forget(false);  // the image left the device out: register this new process afresh
  kmod::register_process(g_runtime.signal);
  reapply_image_resources();
  release_threads(Outcome::Restart);
  unblock_critical_sections();
  int fd = create_control_socket();
  if (fd >= 0) {
    g_runtime.control_fd = fd;
  } else {
    fprintf(stderr, "crcore: restarted process %d cannot open its control socket: %s\n", getpid(), strerror(-fd));
  }
  return kRestarted;
}

// The image is complete in the page cache; make it durable (the application may already run).
int sync_image(Checkpoint& c) {
  if (fsync(c.image_fd) != 0 && errno != EINVAL && errno != EROFS) {
    int error = errno;
    set_status(c, control::Status::WriteFailed, error, "flushing the image to storage failed");
    return -error;
  }
  c.status = control::Status::Ok;
  return 0;
}

// The innermost stage of the thread-context chain: phase 2.
int phase2(void* arg) {
  Checkpoint& c = *static_cast<Checkpoint*>(arg);
  if (c.deadline_ns != 0 && monotonic_ns() >= c.deadline_ns) {  // phase 1 (the callbacks) used it all
    set_status(c, control::Status::TempFailure, ETIMEDOUT, "the phase-1 callbacks outlasted the time limit");
    return -CR_ETEMPFAIL;
  }
  if (!block_critical_sections(c.deadline_ns)) {
    set_status(c, control::Status::TempFailure, 0, "a thread stayed inside a critical section past the time limit");
    return -CR_ETEMPFAIL;
  }
  g_runtime.parked.store(0);
  g_runtime.resumed.store(0);
  g_runtime.release.store(0);
  g_runtime.outcome.store(static_cast<uint32_t>(Outcome::Pending));
  g_runtime.abort_code.store(0);
  g_runtime.slot_count = 0;
  g_runtime.checkpoint_serial++;
  g_runtime.phase.store(static_cast<uint32_t>(Phase::Stopping));
  c.pause_start_ns = monotonic_ns();
  int rc = c.kmod_id != 0 ? kmod::stop_all_threads(c.kmod_id, c.deadline_ns, c.why, sizeof c.why)
                          : stop_all_threads(c.deadline_ns, c.why, sizeof c.why);
  if (rc != 0) {
    release_threads(Outcome::Aborted);
    unblock_critical_sections();
    set_status(c,
               rc == -CR_EOMITTED    ? control::Status::Omitted
               : rc == -CR_EPERMFAIL ? control::Status::PermFailure
                                     : control::Status::TempFailure,
               0, nullptr);
    return rc;
  }
  bool scope = (c.request.flags & control::kRequestScope) != 0;
  if (scope && scope_barrier(c.connection_fd, control::kBarrierStopped, c.deadline_ns) != BarrierAnswer::Proceed) {
    // Another process of the scope failed, exec'd, exited or forked: nothing was written.
    release_threads(Outcome::Aborted);
    unblock_critical_sections();
    set_status(c, control::Status::TempFailure, 0, "the checkpoint of the scope was abandoned by its requester");
    return -CR_ETEMPFAIL;
  }
  g_runtime.phase.store(static_cast<uint32_t>(Phase::Writing));
  fault_point(FaultPoint::TargetPhase2);
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  uint64_t bits = 0;
  memcpy(&bits, &mask, sizeof bits);
  ThreadSlot& self = g_runtime.manager_slot;
  memset(&self.record, 0, sizeof self.record);
  describe_current_thread(self.record, bits, nullptr, 0, SS_DISABLE);
  describe_memory_policy(self.memory_policy);
  describe_prctl(self.prctl);
  self.record.flags |= image::kThreadRuntime;
  // The process's pending signals, on this stack (pending_signals.h): queued again after a restart.
  PendingSignals shared_pending;
  take_pending_signals(shared_pending, true, g_runtime.signal);

  rc = save_and_dump(c);
  if (rc == kRestarted) {
    requeue_pending_signals(shared_pending);
    return come_back(c);
  }
  if (rc == kForked) {
    fault_point(FaultPoint::TargetAfterWrite);
    // The child has its frozen copy: the application goes on while it writes.
    if (scope) {
      scope_barrier(c.connection_fd, control::kBarrierCaptured, c.deadline_ns);  // every process has captured
    }
    c.pause_ns = monotonic_ns() - c.pause_start_ns;
    release_threads(Outcome::Continue);
    unblock_critical_sections();
    rc = wait_for_writer(c);
    if (rc < 0) {
      set_status(c, rc == -ENOTSUP ? control::Status::CaptureFailed : control::Status::WriteFailed,
                 rc == kWriterDied ? 0 : -rc, nullptr);
      return rc;
    }
    return sync_image(c);
  }
  if (rc < 0) {
    release_threads(Outcome::Aborted);
    unblock_critical_sections();
    set_status(c, rc == -ENOTSUP ? control::Status::CaptureFailed : control::Status::WriteFailed, -rc, nullptr);
    return rc;
  }
  fault_point(FaultPoint::TargetAfterWrite);
  if (scope) {
    scope_barrier(c.connection_fd, control::kBarrierCaptured, c.deadline_ns);  // every process has written
  }
  c.pause_ns = monotonic_ns() - c.pause_start_ns;
  if (static_cast<control::After>(c.request.after) != control::After::Kill) {
    release_threads(Outcome::Continue);
    unblock_critical_sections();
  }  // else: stays stopped until killed
  int synced = sync_image(c);
  if (synced < 0 && static_cast<control::After>(c.request.after) == control::After::Kill) {
    release_threads(Outcome::Continue);  // no good image: the process must not stay stopped
    unblock_critical_sections();
  }
  return synced;
}

// The preparation that needs nothing of the rest: hwloc's topology (the first time; it loads
// libraries and allocates: before anything is stopped) and the dirty tracker's protection of a first
// image's memory (tracker_prearm). Normal context.
void prepare_topology_and_tracker(bool track) {
  load_topology_once();
  if (track) {
    tracker_prearm(g_arena);
  }
}

void* prepare_worker_main(void* track) {
  prepare_topology_and_tracker(*static_cast<const bool*>(track));
  return nullptr;
}

// Runs prepare_topology_and_tracker in a thread of its own while the caller reads smaps for the
// copy-on-write writer (find_fork_advice): the smaps read and the write-protection each walk the page
// tables of the whole address space (~45-60 ms per GiB of small pages), and neither needs the other.
// true when the thread runs (join it before `track` goes), false when it could not start (nothing ran
// then).
bool start_prepare_worker(pthread_t& thread, const bool& track) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    return false;
  }
  pthread_attr_setstacksize(&attr, 1u << 20);
  bool started = pthread_create(&thread, &attr, prepare_worker_main, const_cast<bool*>(&track)) == 0;
  pthread_attr_destroy(&attr);
  return started;
}

int prepare(Checkpoint& c) {
  // A timer that notifies a thread (SIGEV_THREAD) has a glibc helper thread that blocks every
  // signal: it would never stop. Refused now, with the reason, rather than waited for.
  char timer_why[256];
  if (refuse_thread_timers(timer_why, sizeof timer_why) != 0) {
    set_status(c, control::Status::CaptureFailed, ENOTSUP, timer_why);
    return -ENOTSUP;
  }
  char maps[1 << 16];
  ssize_t maps_size = read_file("/proc/self/maps", maps, sizeof maps);
  size_t estimate = maps_size == -EFBIG ? (16u << 20) : static_cast<size_t>(maps_size > 0 ? maps_size : 0);
  long rss_pages = 0;
  char statm[256];
  if (read_file("/proc/self/statm", statm, sizeof statm) > 0) {
    const char* p = strchr(statm, ' ');
    if (p != nullptr) {
      ++p;
      rss_pages = static_cast<long>(parse_number(&p, 10));
    }
  }
  int rc = g_arena.reserve(estimate, static_cast<size_t>(rss_pages));
  if (rc != 0) {
    set_status(c, control::Status::TempFailure, -rc, "cannot reserve memory for the checkpoint");
    return rc;
  }
  bool track = tracker_prepare(static_cast<uint64_t>(rss_pages)) == 0;  // without it: a full image, untracked
  pthread_t worker;
  bool concurrent = c.copy_on_write && start_prepare_worker(worker, track);
  if (!concurrent) {
    prepare_topology_and_tracker(track);
  }
  if (c.copy_on_write) {
    rc = find_fork_advice(c.fork_advice);
    if (concurrent) {
      pthread_join(worker, nullptr);
    }
    if (rc != 0) {
      set_status(c, control::Status::TempFailure, -rc, "cannot read /proc/self/smaps");
      return rc;
    }
  }
  int level = c.request.compress_level > 0 ? c.request.compress_level : 1;
  if ((c.request.flags & control::kRequestCompress) != 0 && (!g_zstd || g_zstd->level() != level)) {
    g_zstd = std::make_unique<image::ZstdWorkspace>(level, compress_threads(), compress_shuffle());
    if (!g_zstd->available()) {
      set_status(c, control::Status::Refused, 0,
                 CRCORE_HAVE_ZSTD ? g_zstd->error() : "this crcore was built without zstd: --compress is unavailable");
      g_zstd.reset();
      return -ENOTSUP;
    }
  }
  c.hash_thread = hash_thread_wanted();
  bool piped = pipe2(c.pipe_probe, O_CLOEXEC | O_NONBLOCK) == 0 && pipe2(c.result_pipe, O_CLOEXEC) == 0;
  for (int fd : {c.pipe_probe[0], c.pipe_probe[1], c.result_pipe[0], c.result_pipe[1]}) {
    note_request_fd(fd);
  }
  if (!piped) {
    set_status(c, control::Status::TempFailure, errno, "cannot create a pipe");
    return -errno;
  }
  return 0;
}

void finish(Checkpoint& c) {
  for (int fd : {c.pipe_probe[0], c.pipe_probe[1], c.result_pipe[0], c.result_pipe[1]}) {
    close_request_fd(fd);
  }
  g_arena.release();
}

bool peer_allowed(int fd, pid_t* pid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return false;
  }
  *pid = cred.pid;
  return cred.uid == 0 || cred.uid == geteuid();
}

void respond(int fd, const control::Response& r) { send(fd, &r, sizeof r, MSG_NOSIGNAL); }

// What follows the answer, whichever backend carried it: a temporary image nobody committed is
// removed, --kill/--term/--stop are carried out, a permanent failure ends the process.
void after_answer(const control::Request& request, const control::Response& response, int image_fd, bool committed) {
  auto after = static_cast<control::After>(request.after);
  bool ok = response.status == static_cast<uint32_t>(control::Status::Ok);
  // The dirty tracker's next interval starts here; without an image in place, what changed since
  // the last one is lost (the next incremental checkpoint is a full one).
  tracker_after_checkpoint(ok && committed);
  if (ok) {
    if (!committed) {
      // The requester is gone (or could not rename): remove its temporary file, if it is still ours.
      struct stat by_name, by_fd;
      if (g_info.dest[0] != '\0' && stat(g_info.dest, &by_name) == 0 && fstat(image_fd, &by_fd) == 0 &&
          by_name.st_dev == by_fd.st_dev && by_name.st_ino == by_fd.st_ino) {
        unlink(g_info.dest);
      }
    }
    if (after == control::After::Kill) {
      if (committed) {
        kill(getpid(), SIGKILL);  // the image is in place: this process never runs past it
      }
      // No commit (the requester died, or could not rename): the image may not exist under its
      // name, so the process must not die. It continues.
      release_threads(Outcome::Continue);
      unblock_critical_sections();
    } else if (committed && after == control::After::Term) {
      kill(getpid(), SIGTERM);
    } else if (committed && after == control::After::Stop) {
      kill(getpid(), SIGSTOP);
    }
  }
  close_request_fd(image_fd);
  if (response.status == static_cast<uint32_t>(control::Status::PermFailure)) {
    kill(getpid(), SIGKILL);  // BLCR: a permanent failure ends the job
  }
  // The writer's copy split the huge pages the program wrote meanwhile: gathered again, so that the
  // next checkpoint's fork stays short (region_advice.h). CRCORE_HUGEPAGE_COLLAPSE=0 leaves them.
  // Only where the image saw MADV_HUGEPAGE advice: finding the split mappings reads smaps, which
  // costs ~50 ms per GiB of small pages.
  if (ok && copy_on_write(request) && g_huge_page_advice && enabled_unless_zero("CRCORE_HUGEPAGE_COLLAPSE")) {
    (void)collapse_split_huge_pages();  // best effort: small pages are correct, only slower to fork
  }
  g_runtime.answering.store(0, std::memory_order_release);  // answered: exec_guard lets an exec through
}

// Returns true when it returns in a restored process.
bool serve(int fd) {
  control::Response response{};
  response.magic = control::kResponseMagic;
  response.version = control::kControlVersion;
  // Credentials first: a foreign caller is answered without waiting for anything it sends.
  pid_t peer = 0;
  bool allowed = peer_allowed(fd, &peer);
  if (allowed) {
    timeval limit{10, 0};  // a request or commit that does not come in 10 s is not coming
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  control::Request request{};
  iovec iov{&request, sizeof request};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  // The request is read even from a foreign caller (without waiting), so that the refusal reaches
  // it: closing a socket with unread data resets the connection and loses the answer.
  // A foreign caller's request is waited for a moment at most (it must not stall the manager).
  if (!allowed) {
    struct pollfd request_ready = {fd, POLLIN, 0};
    poll(&request_ready, 1, 200);
  }
  ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (allowed ? 0 : MSG_DONTWAIT));
  int image_fd = -1;
  cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (c != nullptr && c->cmsg_type == SCM_RIGHTS) {
    memcpy(&image_fd, CMSG_DATA(c), sizeof image_fd);
    note_request_fd(image_fd);
  }
  if (!allowed) {
    response.status = static_cast<uint32_t>(control::Status::Refused);
    snprintf(response.message, sizeof response.message, "only the owner of process %d or root may checkpoint it",
             getpid());
    respond(fd, response);
    close_request_fd(image_fd);
    // Anything it still sends is read before the close, so the answer is not lost to a reset.
    shutdown(fd, SHUT_WR);
    struct pollfd late = {fd, POLLIN, 0};
    char discard[256];
    while (poll(&late, 1, 100) > 0 && recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
    }
    return false;
  }
  if (n != static_cast<ssize_t>(sizeof request) || request.magic != control::kRequestMagic ||
      request.version != control::kControlVersion || image_fd < 0) {
    response.status = static_cast<uint32_t>(control::Status::Refused);
    snprintf(response.message, sizeof response.message, "malformed checkpoint request (a different crcore version?)");
    respond(fd, response);
    close_request_fd(image_fd);
    // Anything it still sends is read before the close, so the answer is not lost to a reset.
    shutdown(fd, SHUT_WR);
    struct pollfd late = {fd, POLLIN, 0};
    char discard[256];
    while (poll(&late, 1, 100) > 0 && recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
    }
    return false;
  }
  int rc = checkpoint_this_process(request, image_fd, fd, peer, response);
  if (rc == kRestarted) {
    return true;  // we are a restored process: the requester belongs to the old one
  }
  respond(fd, response);
  reap_writer();
  bool committed = false;
  if (response.status == static_cast<uint32_t>(control::Status::Ok)) {
    // Only an image under a temporary name waits for its requester's commit (the rename); a
    // libcr caller wrote to its own descriptor, and may itself be one of the stopped threads.
    bool temporary = (request.flags & control::kRequestTemporaryName) != 0;
    committed = !temporary;
    if (temporary) {
      timeval limit{120, 0};  // the rename and the directory flush, on a slow file system
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      control::Commit commit{};
      ssize_t got = recv(fd, &commit, sizeof commit, 0);
      committed =
          got == static_cast<ssize_t>(sizeof commit) && commit.magic == control::kCommitMagic && commit.committed == 1;
    }
  }
  after_answer(request, response, image_fd, committed);
  return false;
}

// A request through the kernel module (the device polled readable: phase 1 was triggered).
// Returns true when it returns in a restored process.
bool serve_kmod() {
  kmod::TakenRequest taken{};
  if (kmod::take_request(taken) != 0) {
    return false;  // taken back by a requester that went away
  }
  note_request_fd(taken.image_fd);
  control::Response response{};
  response.magic = control::kResponseMagic;
  response.version = control::kControlVersion;
  g_kmod_request = taken.id;
  int rc = checkpoint_this_process(taken.request, taken.image_fd, -1, taken.requester_pid, response);
  if (rc == kRestarted) {
    return true;  // the request belongs to the old process
  }
  bool ok = response.status == static_cast<uint32_t>(control::Status::Ok);
  bool temporary = (taken.request.flags & control::kRequestTemporaryName) != 0;
  // The result goes to the requester through the module, which then waits for its commit.
  bool committed = kmod::report_result(taken.id, response, ok && temporary ? 120000 : 0);
  reap_writer();
  after_answer(taken.request, response, taken.image_fd, ok && (committed || !temporary));
  return false;
}

void* manager_main(void*) {
  prctl(PR_SET_NAME, "crcore-manager", 0, 0, 0);
  g_runtime.manager_tid.store(raw_gettid());
  for (;;) {
    int listen_fd = g_runtime.control_fd;
    int kmod_fd = kmod::device_fd();
    if (listen_fd < 0 && kmod_fd < 0) {
      pause();
      continue;
    }
    if (kmod_fd >= 0) {
      // Both backends: the control socket, and /dev/crcore (readable when a request is pending).
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {kmod_fd, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        continue;
      }
      if ((fds[1].revents & POLLIN) != 0) {
        serve_kmod();
        continue;
      }
      if ((fds[0].revents & POLLIN) == 0) {
        continue;
      }
    }
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    note_request_fd(fd);
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) {
        usleep(10000);
      }
      continue;
    }
    if (!serve(fd)) {
      close_request_fd(fd);  // (after a restart this number belongs to nobody: left out of the image)
    }
  }
  return nullptr;
}

}  // namespace

std::string start_manager() {
  int fd = create_control_socket();
  if (fd < 0) {
    return std::string("cannot create the control socket: ") + strerror(-fd);
  }
  g_runtime.control_fd = fd;
  kmod::register_process(g_runtime.signal);  // before any thread may be asked to stop
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the manager never takes application signals
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, manager_main, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    close(fd);
    g_runtime.control_fd = -1;
    return std::string("cannot start the manager thread: ") + strerror(rc);
  }
  return "";
}

int checkpoint_this_process(const control::Request& request, int image_fd, int connection_fd, int requester_pid,
                            control::Response& response) {
  Checkpoint c{};
  c.request = request;
  c.image_fd = image_fd;
  c.connection_fd = connection_fd;
  c.pipe_probe[0] = c.pipe_probe[1] = -1;
  c.result_pipe[0] = c.result_pipe[1] = -1;
  c.copy_on_write = copy_on_write(request);
  c.kmod_id = g_kmod_request;
  g_kmod_request = 0;
  c.status = control::Status::Ok;
  uint64_t start = monotonic_ns();
  c.deadline_ns = request.timeout_ms != 0 ? start + uint64_t{request.timeout_ms} * 1000000ull : 0;
  if (prctl(PR_GET_DUMPABLE) != 1) {
    response.status = static_cast<uint32_t>(control::Status::Refused);
    snprintf(response.message, sizeof response.message,
             "process %d is not dumpable (setuid, or it asked not to be): checkpoint refused", getpid());
    return -CR_EPERMFAIL;
  }
  uint32_t idle = static_cast<uint32_t>(Phase::Idle);
  if (!g_runtime.phase.compare_exchange_strong(idle, static_cast<uint32_t>(Phase::Phase1))) {
    response.status = static_cast<uint32_t>(control::Status::Busy);
    snprintf(response.message, sizeof response.message, "another checkpoint of process %d is in progress", getpid());
    return -CR_ETEMPFAIL;
  }
  g_runtime.answering.store(1, std::memory_order_release);  // cleared once answered (after_answer)
  fault_next_checkpoint();
  g_info.requester = requester_pid;
  g_info.signal = 0;
  g_info.deadline_ns = c.deadline_ns;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", image_fd);
  if (read_link(link, g_info.dest, sizeof g_info.dest) < 0) {
    g_info.dest[0] = '\0';
  }
  g_info_valid = true;

  int rc = prepare(c);
  if (rc == 0) {
    g_runtime.restart_block.restarted = 0;
    fault_point(FaultPoint::TargetPhase1);
    rc = run_thread_context_chain(phase2, &c);
    if (rc >= 0) {
      run_hook(rc == kRestarted ? CR_HOOK_RSTRT_THREAD_CONTEXT : CR_HOOK_CONT_THREAD_CONTEXT);
    }
    if (rc < 0 && c.status == control::Status::Ok) {
      set_status(c,
                 rc == -CR_EOMITTED    ? control::Status::Omitted
                 : rc == -CR_EPERMFAIL ? control::Status::PermFailure
                                       : control::Status::TempFailure,
                 0, "a thread-context callback refused the checkpoint");
    }
    if (g_runtime.phase.load() != static_cast<uint32_t>(Phase::Idle)) {
      // The chain ended before phase 2 ran (a refusal): nothing is stopped.
      g_runtime.phase.store(static_cast<uint32_t>(Phase::Idle));
    }
  }
  g_info_valid = false;
  if (rc == kRestarted && g_runtime.restart_block.restarted != 0) {
    apply_restart_flags();
    return rc;
  }
  finish(c);
  response.status = static_cast<uint32_t>(c.status);
  response.error = c.error;
  response.image_bytes = c.dump.image_bytes;
  response.page_bytes = c.dump.page_bytes;
  response.pause_ns = c.pause_ns;
  response.total_ns = monotonic_ns() - start;
  response.threads = c.dump.threads;
  response.regions = c.dump.regions;
  g_huge_page_advice = c.dump.huge_page_regions != 0;
  if (c.status != control::Status::Ok) {
    std::string message = c.why;
    if (c.error != 0) {
      message += std::string(": ") + strerror(c.error);
    }
    snprintf(response.message, sizeof response.message, "%s", message.c_str());
  }
  return rc;
}

const CheckpointInfo* current_checkpoint_info() { return g_info_valid ? &g_info : nullptr; }

}  // namespace crcore::runtime
