// The stopped-world image writer (see image_dump.h). RESTRICTED CODE: syscalls and plain data
// only; every buffer comes from the CaptureArena reserved before the threads were stopped.
#include "runtime/image_dump.h"

#include "runtime/exclusions.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "image/record_writer.h"
#include "runtime/dirty_scan.h"
#include "runtime/fault_injection.h"
#include "runtime/glibc_layout.h"
#include "runtime/memory_capture.h"
#include "runtime/runtime_state.h"
#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

using image::Piece;
using image::RecordKind;

// A string of the process, read into the arena's string pool.
struct Text {
  const char* data = "";
  uint32_t length = 0;
};

Text read_text(char*& pool, size_t& left, const char* path, bool is_link) {
  Text t;
  ssize_t n = is_link ? read_link(path, pool, left) : read_file(path, pool, left);
  if (n > 0) {
    t.data = pool;
    t.length = static_cast<uint32_t>(n);
    pool += n + 1;
    left -= static_cast<size_t>(n) + 1;
  }
  return t;
}

Text copy_text(char*& pool, size_t& left, const char* s) {
  Text t;
  size_t n = strnlen(s, left - 1);
  memcpy(pool, s, n);
  t.data = pool;
  t.length = static_cast<uint32_t>(n);
  pool += n + 1;
  left -= n + 1;
  return t;
}

// Field n (1-based, as in proc(5)) of /proc/self/stat.
uint64_t stat_field(const char* stat, int n) {
  const char* p = strrchr(stat, ')');
  if (p == nullptr) {
    return 0;
  }
  p += 2;  // field 3 starts here
  for (int field = 3; field < n; ++field) {
    p = strchr(p, ' ');
    if (p == nullptr) {
      return 0;
    }
    ++p;
  }
  return parse_number(&p, 10);
}

int write_process(image::RecordWriter& w, CaptureArena& arena, const ProcessIdentity& who, uint32_t threads,
                  uint32_t regions, uint32_t fds) {
  char* pool = arena.strings;
  size_t left = arena.strings_capacity / 2;
  image::ProcessRecord p;
  memset(&p, 0, sizeof p);
  p.pid = who.pid;
  p.ppid = who.ppid;
  p.pgid = who.pgid;
  p.sid = who.sid;
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  p.uid = r;
  p.euid = e;
  gid_t gr, ge, gs;
  getresgid(&gr, &ge, &gs);
  p.gid = gr;
  p.egid = ge;
  mode_t mask = umask(0);
  umask(mask);
  p.umask = mask;
  p.checkpoint_signal = static_cast<uint32_t>(g_runtime.signal);
  p.thread_count = threads;
  p.region_count = regions;
  p.fd_count = fds;
  const GlibcLayout& layout = glibc_layout();
  p.tid_offset = layout.tid_offset;
  p.rseq_size = layout.rseq_registered ? layout.rseq_size : 0;
  p.rseq_offset = static_cast<int32_t>(layout.rseq_offset);
  p.rseq_signature = layout.rseq_signature;
  p.runtime_restart_block = reinterpret_cast<uint64_t>(&g_runtime.restart_block);
  p.checkpoint_serial = g_runtime.checkpoint_serial;
  Text cwd = read_text(pool, left, "/proc/self/cwd", true);
  Text exe = read_text(pool, left, "/proc/self/exe", true);
  Text cmdline = read_text(pool, left, "/proc/self/cmdline", false);
  Text environ_text = read_text(pool, left, "/proc/self/environ", false);
  struct utsname u;
  uname(&u);
  Text host = copy_text(pool, left, u.nodename);
  Text kernel = copy_text(pool, left, u.release);
  p.cwd_len = cwd.length;
  p.exe_len = exe.length;
  p.cmdline_len = cmdline.length;
  p.environ_len = environ_text.length;
  p.hostname_len = host.length;
  p.kernel_len = kernel.length;
  return w.record(RecordKind::Process,
                  {Piece{&p, sizeof p}, Piece{cwd.data, cwd.length}, Piece{exe.data, exe.length},
                   Piece{cmdline.data, cmdline.length}, Piece{environ_text.data, environ_text.length},
                   Piece{host.data, host.length}, Piece{kernel.data, kernel.length}});
}

int write_mm(image::RecordWriter& w, CaptureArena& arena, const MemoryCapture& memory) {
  image::MmRecord m;
  memset(&m, 0, sizeof m);
  char* stat = arena.strings + arena.strings_capacity / 2 - 8192;
  if (read_file("/proc/self/stat", stat, 8192) < 0) {
    return -EIO;
  }
  m.start_code = stat_field(stat, 26);
  m.end_code = stat_field(stat, 27);
  m.start_stack = stat_field(stat, 28);
  m.start_data = stat_field(stat, 45);
  m.end_data = stat_field(stat, 46);
  m.start_brk = stat_field(stat, 47);
  m.arg_start = stat_field(stat, 48);
  m.arg_end = stat_field(stat, 49);
  m.env_start = stat_field(stat, 50);
  m.env_end = stat_field(stat, 51);
  m.brk = static_cast<uint64_t>(syscall(SYS_brk, 0));
  ssize_t n = read_file("/proc/self/auxv", stat, 8192);
  if (n > 0) {
    size_t pairs = static_cast<size_t>(n) / 16;
    if (pairs > image::kMaxAuxv) {
      pairs = image::kMaxAuxv;
    }
    memcpy(m.auxv, stat, pairs * 16);
    m.auxv_count = static_cast<uint32_t>(pairs);
  }
  m.special_count = memory.special_count;
  memcpy(m.special, memory.special, sizeof m.special);
  return w.record(RecordKind::Mm, {Piece{&m, sizeof m}});
}

int write_signals_and_limits(image::RecordWriter& w) {
  image::SigActionsRecord sa;
  memset(&sa, 0, sizeof sa);
  for (int sig = 1; sig <= static_cast<int>(image::kSignalCount); ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) {
      continue;
    }
    syscall(SYS_rt_sigaction, sig, nullptr, &sa.action[sig - 1], 8);
    // A handler of an excluded lower half (crcore_ext.h) does not come back: the default instead
    // (the restarted lower half installs its own).
    if (sa.action[sig - 1].handler > 1 && address_excluded(sa.action[sig - 1].handler)) {
      memset(&sa.action[sig - 1], 0, sizeof sa.action[sig - 1]);
    }
  }
  int rc = w.record(RecordKind::SigActions, {Piece{&sa, sizeof sa}});
  if (rc != 0) {
    return rc;
  }
  image::RlimitsRecord rl;
  memset(&rl, 0, sizeof rl);
  for (int r = 0; r < static_cast<int>(image::kRlimitCount) && r < RLIM_NLIMITS; ++r) {
    struct rlimit lim;
    if (syscall(SYS_prlimit64, 0, r, nullptr, &lim) == 0) {
      rl.cur[r] = lim.rlim_cur;
      rl.max[r] = lim.rlim_max;
    }
  }
  return w.record(RecordKind::Rlimits, {Piece{&rl, sizeof rl}});
}

uint32_t parked_threads() {
  uint32_t n = 0;
  for (uint32_t i = 0; i < g_runtime.slot_count; ++i) {
    if (g_runtime.slots[i].state.load() == static_cast<uint32_t>(SlotState::Parked)) {
      ++n;
    }
  }
  return n;
}

int write_threads(image::RecordWriter& w) {
  for (uint32_t i = 0; i < g_runtime.slot_count; ++i) {
    ThreadSlot& slot = g_runtime.slots[i];
    if (slot.state.load() != static_cast<uint32_t>(SlotState::Parked)) {
      continue;
    }
    int rc = w.record(RecordKind::Thread, {Piece{&slot.record, sizeof slot.record}});
    if (rc != 0) {
      return rc;
    }
  }
  return w.record(RecordKind::Thread, {Piece{&g_runtime.manager_slot.record, sizeof g_runtime.manager_slot.record}});
}

int write_fds(image::RecordWriter& w, CaptureArena& arena, const FdCapture& fds) {
  for (uint32_t i = 0; i < fds.count; ++i) {
    CapturedFd& c = arena.fds[i];
    int rc = w.record(RecordKind::Fd, {Piece{&c.record, sizeof c.record}, Piece{c.path, c.record.path_len}});
    if (rc != 0) {
      return rc;
    }
  }
  for (uint32_t i = 0; i < fds.count; ++i) {
    CapturedFd& c = arena.fds[i];
    if (!c.has_data) {
      continue;
    }
    bool first = true;  // one FdData per pipe, however many descriptors read it
    for (uint32_t j = 0; j < i; ++j) {
      if (arena.fds[j].has_data && arena.fds[j].record.inode == c.record.inode) {
        first = false;
      }
    }
    if (!first) {
      continue;
    }
    image::FdDataHeader h{c.record.inode, c.data_length};
    int rc = w.record(RecordKind::FdData, {Piece{&h, sizeof h}, Piece{arena.data + c.data_offset, c.data_length}});
    if (rc != 0) {
      return rc;
    }
  }
  // Resource records (format version 3), each already laid out in the data pool.
  for (uint32_t i = 0; i < fds.resources.count; ++i) {
    int rc = w.record(RecordKind::Resource, {Piece{arena.data + fds.resources.offset[i], fds.resources.length[i]}});
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

// Regions that change while the image is written (the manager's own stack, the compression
// workspace) are copied run by run before they are hashed and written, so that a record's
// checksum always matches its bytes.
struct VolatileRange {
  uint64_t start, end;
};

bool overlaps(const CapturedRegion& r, const VolatileRange* ranges, int count) {
  for (int i = 0; i < count; ++i) {
    if (ranges[i].start < r.record.end && r.record.start < ranges[i].end) {
      return true;
    }
  }
  return false;
}

int write_copied(image::RecordWriter& w, CaptureArena& arena, const PageRun& run, uint64_t source_delta) {
  for (uint64_t done = 0; done < run.length;) {
    uint64_t chunk = run.length - done;
    if (chunk > arena.data_capacity) {
      chunk = arena.data_capacity;
    }
    memcpy(arena.data, reinterpret_cast<const void*>(run.address + source_delta + done), chunk);
    int rc = w.pages(run.address + done, arena.data, chunk);
    if (rc != 0) {
      return rc;
    }
    done += chunk;
  }
  return 0;
}

int write_pages(image::RecordWriter& w, CaptureArena& arena, const MemoryCapture& memory,
                const VolatileRange* volatile_ranges, int volatile_count) {
  uint32_t total_runs = 0;
  uint32_t written_runs = 0;
  if (fault_armed(FaultPoint::WriterMidPages) || fault_armed(FaultPoint::WriteEio)) {
    for (uint32_t i = 0; i < memory.region_count; ++i) {
      total_runs += arena.regions[i].run_count;
    }
  }
  for (uint32_t i = 0; i < memory.region_count; ++i) {
    CapturedRegion& r = arena.regions[i];
    if (r.run_count == 0) {
      continue;
    }
    bool copy = overlaps(r, volatile_ranges, volatile_count);
    bool readable = r.source_delta != 0 || (r.record.prot & image::kProtRead) != 0;  // a staged copy is readable
    if (!readable) {
      mprotect(reinterpret_cast<void*>(r.record.start), r.record.end - r.record.start, PROT_READ);
    }
    int rc = 0;
    for (uint32_t k = 0; k < r.run_count && rc == 0; ++k) {
      const PageRun& run = arena.runs[r.first_run + k];
      if ((run.length & kRunZeroFill) != 0) {
        rc = w.zero_pages(run.address, run.length & ~kRunZeroFill);
        continue;
      }
      rc = copy ? write_copied(w, arena, run, r.source_delta)
                : w.pages(run.address, reinterpret_cast<const void*>(run.address + r.source_delta), run.length);
      if (++written_runs == total_runs / 2 + 1) {  // total_runs is 0 unless a fault is armed
        fault_point(FaultPoint::WriterMidPages);
        if (fault_armed(FaultPoint::WriteEio) && rc == 0) {
          rc = -EIO;  // as a device that fails writes would answer
        }
      }
    }
    if (!readable) {
      mprotect(reinterpret_cast<void*>(r.record.start), r.record.end - r.record.start, mmap_prot(r.record.prot));
    }
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

}  // namespace

int dump_image(CaptureArena& arena, const DumpRequest& request, DumpResult& result, char* why, size_t why_size) {
  MemoryCapture memory;
  int rc = 0;
  if (request.memory != nullptr) {
    memory = *request.memory;
  } else {
    rc = capture_regions(arena, memory, why, why_size);
  }
  // The copy-on-write writer reads smaps in a thread of its own while it scans its pages
  // (smaps_prefetch.h); the advice is only needed for the records, after both.
  SmapsPrefetch smaps;
  bool prefetching = rc == 0 && request.in_fork_child && smaps.start();
  if (rc == 0 && !prefetching) {
    rc = read_region_advice(arena, memory, request.lifted, request.lifted_count, request.in_fork_child, nullptr, why,
                            why_size);
  }
  const IncrementalPlan* plan = request.plan != nullptr && request.plan->tracking ? request.plan : nullptr;
  if (rc == 0) {
    rc = plan != nullptr ? scan_pages_tracked(arena, memory, *plan, why, why_size)
                         : scan_pages(arena, memory, why, why_size);
  }
  if (rc == 0 && prefetching) {  // without the whole text (it failed or did not fit): read here
    rc = read_region_advice(arena, memory, request.lifted, request.lifted_count, request.in_fork_child, smaps.finish(),
                            why, why_size);
  }
  FdCapture fds;
  if (rc == 0 && request.descriptors != nullptr) {
    fds = *request.descriptors;  // taken by the process itself while its threads were stopped
  } else if (rc == 0) {
    rc = capture_fds(arena, request.exclude, request.pipe_probe, request.allow_unsupported_fds, fds, why, why_size,
                     request.scope_member);
  }
  if (rc != 0) {
    return rc;
  }
  image::RecordWriter w(request.image_fd, {arena.writer_scratch, arena.writer_scratch_size}, request.zstd);
  w.allow_hash_thread(request.hash_thread);
  image::FileHeader header;
  memset(&header, 0, sizeof header);
  header.page_size = 4096;
  header.flags = request.scope_member ? image::kFileScopeMember : 0u;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  header.created_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
  if (plan != nullptr) {
    memcpy(header.image_id, plan->image_id, sizeof header.image_id);
    if (plan->incremental) {
      header.flags |= image::kFileIncremental;
      memcpy(header.parent_id, plan->parent_id, sizeof header.parent_id);
    }
  } else if (getrandom(header.image_id, sizeof header.image_id, GRND_NONBLOCK) != sizeof header.image_id) {
    memcpy(header.image_id, &header.created_ns, sizeof header.created_ns);
  }
  uint32_t threads = parked_threads() + 1;
  rc = w.begin(header);
  if (rc == 0) {
    rc = write_process(w, arena, request.identity, threads, memory.region_count, fds.count);
  }
  if (rc == 0) {
    rc = write_mm(w, arena, memory);
  }
  if (rc == 0) {
    rc = write_signals_and_limits(w);
  }
  if (rc == 0) {
    rc = write_threads(w);
  }
  for (uint32_t i = 0; i < memory.region_count && rc == 0; ++i) {
    CapturedRegion& r = arena.regions[i];
    rc = w.record(RecordKind::Region, {Piece{&r.record, sizeof r.record}, Piece{r.path, r.record.path_len}});
  }
  if (rc == 0) {
    rc = write_fds(w, arena, fds);
  }
  if (rc == 0) {
    // pipe data is written: arena.data is free to serve as the copy buffer now.
    uint64_t here = reinterpret_cast<uint64_t>(&header);
    VolatileRange volatile_ranges[2] = {{here, here + 1}, {0, 0}};
    int volatile_count = 1;
    if (request.zstd != nullptr && request.zstd->memory() != nullptr) {
      auto z = reinterpret_cast<uint64_t>(request.zstd->memory());
      volatile_ranges[volatile_count++] = {z, z + request.zstd->memory_size()};
    }
    rc = write_pages(w, arena, memory, volatile_ranges, volatile_count);
  }
  if (rc == 0) {
    rc = w.end(image::RecordWriter::Sync::Later);  // the manager flushes once the threads run again
  }
  if (rc != 0) {
    keep_first_why(why, why_size,
                   rc == -ENOSPC ? "no space left on the image's file system" : "writing the image failed");
    return rc;
  }
  result.image_bytes = w.bytes_written();
  result.page_bytes = w.page_bytes();
  result.threads = threads;
  result.regions = memory.region_count;
  result.huge_page_regions = 0;
  for (uint32_t i = 0; i < memory.region_count; ++i) {
    result.huge_page_regions += (arena.regions[i].record.flags & image::kRegionHugePage) != 0 ? 1 : 0;
  }
  result.incremental = plan != nullptr && plan->incremental;
  return 0;
}

}  // namespace crcore::runtime
