// The restart stage: the last step of cr_restart, and the first of the restored process.
//
// RESTRICTED CODE. This file is compiled freestanding into a position-independent blob that
// cr_restart copies to a place the image does not use and jumps to. From then on nothing of
// cr_restart exists: no libc, no heap, no globals, no C++ runtime, no exceptions. Allowed: the
// raw syscalls of stage_syscalls.h, the StageArgs block, the stage's own stack. Every failure
// writes one line to stderr and ends the process (exit status 127): by then there is no earlier
// state to return to. cr_restart has validated the image before getting here, except, when a page
// validator runs (page_validator.h), the checksums of the page payloads: its verdict is awaited after the
// last page is in place, before any restored code runs (wait_for_validator).
#include <cstddef>
#include <cstdint>

#include "stage/stage_args.h"
#include "stage/stage_syscalls.h"

namespace crcore::stage {
namespace {

constexpr long kPage = 4096;
constexpr int kProtRead = 1, kProtWrite = 2, kProtExec = 4;
// Linux's mmap flags (StageMapFlag is cr_restart's own description of a region).
constexpr int kLinuxMapShared = 0x01, kLinuxMapPrivate = 0x02, kLinuxMapFixed = 0x10, kLinuxMapAnonymous = 0x20;
constexpr int kLinuxMapGrowsDown = 0x100, kLinuxMapNoReserve = 0x4000;
constexpr int kMadvDontFork = 10, kMadvMergeable = 12, kMadvHugePage = 14, kMadvNoHugePage = 15;
constexpr int kMadvDontDump = 16, kMadvWipeOnFork = 18, kMadvPopulateWrite = 23;
constexpr int kMremapMaymove = 1, kMremapFixed = 2;
constexpr int kPrSetMm = 35, kPrSetMmMap = 14, kPrSetName = 15;
constexpr long kPrSetPtracer = 0x59616d61;  // Yama's PR_SET_PTRACER
constexpr int kArchSetFs = 0x1002, kArchSetGs = 0x1001;
constexpr unsigned long kCloneThreadFlags = 0x00000100 | 0x00000200 | 0x00000400 | 0x00000800 | 0x00010000 |
                                            0x00040000 | 0x00080000;  // VM FS FILES SIGHAND THREAD SYSVSEM SETTLS
constexpr unsigned long kCloneChildSettid = 0x01000000, kCloneChildCleartid = 0x00200000;
constexpr unsigned long kCloneParentSettid = 0x00100000, kCloneSettls = 0x00080000;
constexpr long kFutexWait = 0;

size_t length(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') {
    ++n;
  }
  return n;
}

void say_to(int fd, const char* s) { sys(kSysWrite, fd, reinterpret_cast<long>(s), static_cast<long>(length(s))); }

void say(const char* s) { say_to(2, s); }

void say_hex(uint64_t v) {
  char buf[19];
  buf[0] = '0';
  buf[1] = 'x';
  for (int i = 0; i < 16; ++i) {
    int nibble = static_cast<int>((v >> (60 - 4 * i)) & 0xf);
    buf[2 + i] = static_cast<char>(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
  }
  buf[18] = '\0';
  say(buf);
}

[[noreturn]] void die(const char* what, long err, uint64_t address = 0) {
  say("cr_restart: restart stage: ");
  say(what);
  if (address != 0) {
    say(" at ");
    say_hex(address);
  }
  if (err < 0) {
    say(" (error ");
    say_hex(static_cast<uint64_t>(-err));
    say(")");
  }
  say("\n");
  sys(kSysExitGroup, 127);
  __builtin_unreachable();
}

bool failed(long rc) { return rc < 0 && rc > -4096; }

void copy_bytes(void* to, const void* from, size_t n) {
  auto* d = static_cast<volatile unsigned char*>(to);
  auto* s = static_cast<const unsigned char*>(from);
  for (size_t i = 0; i < n; ++i) {
    d[i] = s[i];
  }
}

// Unmaps everything but the stage and the kernel's current vdso/vvar.
void unmap_everything_else(const StageArgs& a) {
  struct Keep {
    uint64_t start, end;
  } keep[image::kMaxSpecialMaps + 1];
  uint32_t n = 0;
  keep[n++] = {a.stage_start, a.stage_start + a.stage_length};
  for (uint32_t i = 0; i < a.current_special_count; ++i) {
    keep[n++] = {a.current_special[i].start, a.current_special[i].end};
  }
  for (uint32_t i = 1; i < n; ++i) {  // insertion sort by start
    for (uint32_t j = i; j > 0 && keep[j].start < keep[j - 1].start; --j) {
      Keep t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  uint64_t cursor = 0;
  for (uint32_t i = 0; i <= n; ++i) {
    uint64_t until = i < n ? keep[i].start : a.task_size;
    if (until > cursor) {
      sys(kSysMunmap, static_cast<long>(cursor), static_cast<long>(until - cursor));
    }
    if (i < n && keep[i].end > cursor) {
      cursor = keep[i].end;
    }
  }
}

// Moves the kernel's vvar/vdso to where the image's glibc expects them, through the spare
// area so that old and new places may overlap.
void move_vdso(const StageArgs& a) {
  if (a.image_special_count == 0) {
    return;
  }
  bool same = a.image_special_count == a.current_special_count;
  for (uint32_t i = 0; same && i < a.current_special_count; ++i) {
    same = a.current_special[i].start == a.image_special[i].start;
  }
  if (same) {
    return;
  }
  uint64_t temp = a.temp_start;
  uint64_t parked[image::kMaxSpecialMaps];
  for (uint32_t i = 0; i < a.current_special_count; ++i) {
    uint64_t size = a.current_special[i].end - a.current_special[i].start;
    long rc = sys(kSysMremap, static_cast<long>(a.current_special[i].start), static_cast<long>(size),
                  static_cast<long>(size), kMremapMaymove | kMremapFixed, static_cast<long>(temp));
    if (failed(rc)) {
      die("cannot move the vdso", rc, a.current_special[i].start);
    }
    parked[i] = temp;
    temp += size;
  }
  for (uint32_t i = 0; i < a.current_special_count; ++i) {
    uint64_t size = a.current_special[i].end - a.current_special[i].start;
    const StageSpecial* target = nullptr;
    for (uint32_t k = 0; k < a.image_special_count; ++k) {
      if (a.image_special[k].kind == a.current_special[i].kind) {
        target = &a.image_special[k];
      }
    }
    if (target == nullptr) {
      sys(kSysMunmap, static_cast<long>(parked[i]), static_cast<long>(size));  // not in the image
      continue;
    }
    long rc = sys(kSysMremap, static_cast<long>(parked[i]), static_cast<long>(size), static_cast<long>(size),
                  kMremapMaymove | kMremapFixed, static_cast<long>(target->start));
    if (failed(rc)) {
      die("cannot move the vdso to the image's address", rc, target->start);
    }
  }
}

// The program's madvise(2) of a region, those of `which` (image::kRegionAdvice bits). A kernel that
// refuses one (e.g. built without transparent huge pages or KSM) gets a warning: the memory is
// restored all the same.
void advise(const StageRegion& r, uint32_t which) {
  struct Advice {
    uint32_t bit;
    int advice;
  };
  static constexpr Advice kAdvice[] = {
      {image::kRegionHugePage, kMadvHugePage},     {image::kRegionNoHugePage, kMadvNoHugePage},
      {image::kRegionMergeable, kMadvMergeable},   {image::kRegionDontFork, kMadvDontFork},
      {image::kRegionWipeOnFork, kMadvWipeOnFork}, {image::kRegionDontDump, kMadvDontDump},
  };
  for (const Advice& x : kAdvice) {
    if ((r.advice & which & x.bit) == 0) {
      continue;
    }
    long rc = sys(kSysMadvise, static_cast<long>(r.start), static_cast<long>(r.end - r.start), x.advice);
    if (failed(rc)) {
      say("cr_restart: warning: the kernel refused to advise a restored region as the program had (madvise ");
      say_hex(static_cast<uint64_t>(x.advice));
      say(" at ");
      say_hex(r.start);
      say(")\n");
    }
  }
}

void map_regions(const StageArgs& a) {
  auto* regions = reinterpret_cast<const StageRegion*>(a.regions);
  for (uint32_t i = 0; i < a.region_count; ++i) {
    const StageRegion& r = regions[i];
    int prot = static_cast<int>(r.prot);
    if ((r.flags & kMapHasData) != 0) {
      prot |= kProtRead | kProtWrite;
    }
    int flags = kLinuxMapFixed | ((r.flags & kMapShared) != 0 ? kLinuxMapShared : kLinuxMapPrivate);
    if ((r.flags & kMapAnonymous) != 0) {
      flags |= kLinuxMapAnonymous | kLinuxMapNoReserve;
    }
    if ((r.flags & kMapGrowsDown) != 0) {
      flags |= kLinuxMapGrowsDown;
    }
    long rc = sys(kSysMmap, static_cast<long>(r.start), static_cast<long>(r.end - r.start), prot, flags,
                  (r.flags & kMapAnonymous) != 0 ? -1 : r.fd, static_cast<long>(r.file_offset));
    if (failed(rc) || static_cast<uint64_t>(rc) != r.start) {
      die("cannot map a region", rc, r.start);
    }
    // Huge pages or not, before the pages are filled (they decide what the filling allocates).
    advise(r, image::kRegionHugePage | image::kRegionNoHugePage | image::kRegionMergeable);
  }
}

// The page validator's verdict (restart/page_validator.h): its exit status, 0 when every page payload's
// checksum matched. Awaited once every page is in place and before anything else: no restored code has
// run, no thread exists, and nothing of the restore shows outside this process yet (cr_restart used the
// overlap only for images where that holds: restart/validation_order.h). A damaged image ends the restart
// here with status 1, as cr_restart's own validation would have; the validator has printed which image
// and which record. Async-signal-safe: raw syscalls only (every signal is blocked here anyway).
void wait_for_validator(const StageArgs& a) {
  if (a.validator_pid <= 0) {
    return;
  }
  int status = 0;
  long rc;
  do {
    rc = sys(kSysWait4, a.validator_pid, reinterpret_cast<long>(&status), 0, 0);
  } while (rc == -4);  // EINTR
  if (failed(rc)) {
    die("cannot learn the page validator's verdict", rc);
  }
  if (status == 0) {
    return;
  }
  // To cr_restart's stderr, where the validator wrote (descriptor 2 is the restored program's now).
  if ((status & 0x7f) != 0) {
    say_to(a.report_fd,
           "cr_restart: the page validator was killed before it had checked every page: the restart is abandoned\n");
  } else {
    say_to(a.report_fd,
           "cr_restart: the image failed its validation (see above): the restart is abandoned before the program "
           "ran\n");
  }
  sys(kSysExitGroup, 1);
  __builtin_unreachable();
}

// A failure while the pages load: when a validator runs, its verdict first (a damaged image is then refused
// as such, with status 1), else the failure itself (status 127).
[[noreturn]] void die_loading(const StageArgs& a, const char* what, long err, uint64_t address = 0) {
  wait_for_validator(a);
  die(what, err, address);
}

const StageRegion* region_for(const StageArgs& a, uint64_t address, uint64_t size) {
  auto* regions = reinterpret_cast<const StageRegion*>(a.regions);
  uint32_t lo = 0, hi = a.region_count;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (regions[mid].end <= address) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < a.region_count && regions[lo].start <= address && address + size <= regions[lo].end &&
      (regions[lo].flags & kMapHasData) != 0) {
    return &regions[lo];
  }
  return nullptr;
}

// Uncompressed pages are read in pieces of this size, each populated first (populate): 4 MiB, so that
// the freshly zeroed memory is still in the cache when the read fills it.
constexpr uint64_t kFillPiece = 4ull << 20;

// Allocates the fresh pages of [address, address + size) before they are read into: one madvise
// (MADV_POPULATE_WRITE, Linux 5.14) instead of one page fault per 4 KiB page inside the read, which on
// these machines makes loading the pages about 15% faster. Only a speed-up: the read that follows
// writes every byte of the range either way, and a kernel that refuses (older ones say EINVAL) or a
// failure (ENOMEM: the read then faults and fails as it would have) changes nothing. The range lies in
// one region mapped read+write with data (region_for). Async-signal-safe: one raw syscall.
void populate(uint64_t address, uint64_t size) {
  uint64_t start = address & ~static_cast<uint64_t>(kPage - 1);
  uint64_t end = (address + size + kPage - 1) & ~static_cast<uint64_t>(kPage - 1);
  if (end - start >= 4 * static_cast<uint64_t>(kPage)) {  // a few pages: not worth a syscall
    sys(kSysMadvise, static_cast<long>(start), static_cast<long>(end - start), kMadvPopulateWrite);
  }
}

void read_exactly(const StageArgs& a, int fd, void* to, uint64_t size) {
  auto* p = static_cast<char*>(to);
  while (size > 0) {
    uint64_t chunk = size > (1u << 30) ? (1u << 30) : size;
    long n = sys(kSysRead, fd, reinterpret_cast<long>(p), static_cast<long>(chunk));
    if (n == -4) {
      continue;  // EINTR
    }
    if (n <= 0) {
      die_loading(a, "the page feeder stopped early", n);
    }
    p += n;
    size -= static_cast<uint64_t>(n);
  }
}

// Reads [begin, begin + size) of extent x into place: populated, then pread, 4 MiB at a time.
void read_extent_part(const StageArgs& a, const StageExtent& x, uint64_t begin, uint64_t size) {
  auto* p = reinterpret_cast<char*>(x.address + begin);
  uint64_t offset = x.file_offset + begin;
  while (size > 0) {
    uint64_t chunk = size > kFillPiece ? kFillPiece : size;
    populate(reinterpret_cast<uint64_t>(p), chunk);  // again after a short read: a no-op for present pages
    long n = sys(kSysPread64, x.fd, reinterpret_cast<long>(p), static_cast<long>(chunk), static_cast<long>(offset));
    if (n == -4) {
      continue;  // EINTR
    }
    if (n <= 0) {
      die_loading(a, "cannot read pages from the image (truncated since it was checked?)", n, x.address + begin);
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<uint64_t>(n);
  }
}

// The extents in pieces of kFillPiece bytes, numbered extent after extent, taken by the stage's
// extent readers from a shared counter.
struct ExtentReaders {
  const StageArgs* args;
  uint64_t next_piece;  // __atomic
  int32_t helper_tid;   // the helper's tid until it exits (CLONE_CHILD_CLEARTID: 0, and a futex wake)
};

// Reads the piece number `piece`; false when there is no such piece (every piece is taken).
bool read_piece(const StageArgs& a, uint64_t piece) {
  auto* extents = reinterpret_cast<const StageExtent*>(a.extents);
  for (uint64_t i = 0; i < a.extent_count; ++i) {
    uint64_t pieces = (extents[i].length + kFillPiece - 1) / kFillPiece;
    if (piece < pieces) {
      uint64_t begin = piece * kFillPiece;
      uint64_t rest = extents[i].length - begin;
      read_extent_part(a, extents[i], begin, rest < kFillPiece ? rest : kFillPiece);
      return true;
    }
    piece -= pieces;
  }
  return false;
}

void take_pieces(ExtentReaders* readers) {
  while (read_piece(*readers->args, __atomic_fetch_add(&readers->next_piece, 1, __ATOMIC_RELAXED))) {
  }
}

void extent_helper_main(void* arg) { take_pieces(static_cast<ExtentReaders*>(arg)); }  // returns: exits

// With this much to read, a second thread reads beside the stage's own: the kernel allocates and zeroes
// the fresh pages on both CPUs (4 GiB from /dev/shm: 3.9 s with one thread, 1.7 s with two).
constexpr uint64_t kTwoReadersBytes = 16ull << 20;

// Reads the uncompressed pages straight from the image files into place (cr_restart validated
// every record, and each extent is checked against the regions here, like the feeder's pieces).
// Meanwhile the feeder, if any, writes the compressed ones (start_feeder). The helper thread runs on
// the unused first slot of the thread stacks (StageArgs::thread_stacks), with every signal blocked
// like the stage, and is gone before anything else happens. Async-signal-safe: raw syscalls only.
void read_extents(const StageArgs& a) {
  auto* extents = reinterpret_cast<const StageExtent*>(a.extents);
  uint64_t total = 0;
  for (uint64_t i = 0; i < a.extent_count; ++i) {
    const StageExtent& x = extents[i];
    if (region_for(a, x.address, x.length) == nullptr) {
      die_loading(a, "an image extent lies outside every region", 0, x.address);
    }
    total += x.length;
  }
  ExtentReaders readers{&a, 0, 0};
  bool helper = false;
  long helper_tid = 0;
  if (a.extent_readers >= 2 && total >= kTwoReadersBytes && a.thread_stack_size >= 16 * 1024) {
    unsigned long flags = (kCloneThreadFlags & ~kCloneSettls) | kCloneParentSettid | kCloneChildCleartid;
    void* stack = reinterpret_cast<void*>(a.thread_stacks + a.thread_stack_size);
    long rc = stage_clone(flags, stack, &readers.helper_tid, &readers.helper_tid, 0, extent_helper_main, &readers);
    helper = !failed(rc);  // without it, this thread reads every piece
    helper_tid = rc;
  }
  take_pieces(&readers);
  if (helper) {
    for (int32_t tid; (tid = __atomic_load_n(&readers.helper_tid, __ATOMIC_ACQUIRE)) != 0;) {
      sys(kSysFutex, reinterpret_cast<long>(&readers.helper_tid), kFutexWait, tid, 0);
    }
    // The kernel clears the tid word when the thread leaves its memory, a moment before it releases the
    // tid itself; a restored thread may need that very tid (clone3 set_tid), so wait until it is gone.
    long pid = sys(kSysGetpid);
    while (sys(kSysTgkill, pid, helper_tid, 0) == 0) {
      sys(kSysSchedYield);
    }
  }
}

// Once the regions are mapped: the feeder may write its pages straight into them (process_vm_writev),
// beside read_extents, instead of sending them down the pipe. Under Yama's ptrace_scope 1 a process may
// write into its descendants only, and the feeder is this process's child: PR_SET_PTRACER names it
// (EINVAL without Yama, which changes nothing). Async-signal-safe: raw syscalls.
void start_feeder(const StageArgs& a) {
  if (a.feeder_pid <= 0 || a.feeder_go_fd < 0) {
    return;
  }
  sys(kSysPrctl, kPrSetPtracer, a.feeder_pid, 0, 0, 0);
  char go = 'g';
  long rc;
  do {
    rc = sys(kSysWrite, a.feeder_go_fd, reinterpret_cast<long>(&go), 1);
  } while (rc == -4);  // EINTR
  if (rc != 1) {
    die_loading(a, "the page feeder stopped early", rc);
  }
  sys(kSysClose, a.feeder_go_fd);
}

// Fills memory with what the feeder (cr_restart's child, which reads and checks the image) sends:
// {address, length} headers, each followed by its bytes, for the pieces it could not write itself;
// then its end marker {0, 0} (sent after every piece it wrote directly, so every page is in place when
// it arrives) and its exit status.
void receive_pages(const StageArgs& a) {
  if (a.feeder_pid <= 0) {
    return;  // no compressed pages: cr_restart started no feeder
  }
  for (;;) {
    uint64_t header[2];
    read_exactly(a, a.feeder_fd, header, sizeof header);
    if (header[0] == 0 && header[1] == 0) {
      break;
    }
    if (region_for(a, header[0], header[1]) == nullptr) {
      die_loading(a, "the feeder sent pages outside every region", 0, header[0]);
    }
    populate(header[0], header[1]);
    read_exactly(a, a.feeder_fd, reinterpret_cast<void*>(header[0]), header[1]);
  }
  int status = 0;
  long rc = sys(kSysWait4, a.feeder_pid, reinterpret_cast<long>(&status), 0, 0);
  if (failed(rc) || status != 0) {
    die_loading(a, "the page feeder failed (see its message above)", rc);
  }
  sys(kSysPrctl, kPrSetPtracer, 0, 0, 0, 0);  // the exception was for the feeder only
}

void protect_regions(const StageArgs& a) {
  auto* regions = reinterpret_cast<const StageRegion*>(a.regions);
  for (uint32_t i = 0; i < a.region_count; ++i) {
    const StageRegion& r = regions[i];
    advise(r, image::kRegionDontFork | image::kRegionWipeOnFork | image::kRegionDontDump);
    if ((r.flags & kMapHasData) != 0 && r.prot != static_cast<uint32_t>(kProtRead | kProtWrite)) {
      long rc =
          sys(kSysMprotect, static_cast<long>(r.start), static_cast<long>(r.end - r.start), static_cast<long>(r.prot));
      if (failed(rc)) {
        die("cannot set a region's protection", rc, r.start);
      }
    }
  }
}

void restore_mm(StageArgs& a) {
  a.mm.auxv = reinterpret_cast<uint64_t>(a.auxv);
  long rc = sys(kSysPrctl, kPrSetMm, kPrSetMmMap, reinterpret_cast<long>(&a.mm), sizeof(MmMap), 0);
  if (failed(rc) && a.mm.exe_fd != static_cast<uint32_t>(-1)) {
    // Pointing /proc/PID/exe back at the program needs CAP_CHECKPOINT_RESTORE: without it the
    // process keeps cr_restart as its exe link, and everything else is restored.
    a.mm.exe_fd = static_cast<uint32_t>(-1);
    rc = sys(kSysPrctl, kPrSetMm, kPrSetMmMap, reinterpret_cast<long>(&a.mm), sizeof(MmMap), 0);
  }
  if (failed(rc)) {
    say("cr_restart: warning: the kernel refused the image's memory layout (prctl PR_SET_MM_MAP); "
        "the heap will grow through mmap\n");
  }
}

// The last steps of every restored thread, on its new kernel thread.
[[noreturn]] void resume_thread(const image::ThreadRecord& t, bool is_leader) {
  if (is_leader) {
    sys(kSysArchPrctl, kArchSetFs, static_cast<long>(t.fs_base));
    if (t.clear_child_tid != 0) {
      sys(kSysSetTidAddress, static_cast<long>(t.clear_child_tid));
      int tid = static_cast<int>(sys(kSysGettid));
      copy_bytes(reinterpret_cast<void*>(t.clear_child_tid), &tid, sizeof tid);
    }
  }
  if (t.gs_base != 0) {
    sys(kSysArchPrctl, kArchSetGs, static_cast<long>(t.gs_base));
  }
  if (t.robust_list != 0) {
    sys(kSysSetRobustList, static_cast<long>(t.robust_list), static_cast<long>(t.robust_list_len));
  }
  if (t.rseq_area != 0) {
    // A fresh thread has no rseq registration; glibc's area in the image says it has one.
    auto* cpu_id = reinterpret_cast<volatile uint32_t*>(t.rseq_area + 4);
    *cpu_id = static_cast<uint32_t>(-1);  // RSEQ_CPU_ID_UNINITIALIZED until the kernel fills it
    sys(kSysRseq, static_cast<long>(t.rseq_area), t.rseq_len, 0, t.rseq_signature);
  }
  char name[17];
  copy_bytes(name, t.name, 16);
  name[16] = '\0';
  sys(kSysPrctl, kPrSetName, reinterpret_cast<long>(name), 0, 0, 0);
  stage_resume_context(&t.context);
}

// Sets thread i's CPU affinity and memory policy on the calling thread (the leader): a thread it
// clones next inherits both. A refusal is only a warning: the thread runs, placed differently.
void apply_thread_policy(const StageArgs& a, uint32_t i) {
  if (a.thread_policies == 0) {
    return;
  }
  const auto& p = reinterpret_cast<const StageThreadPolicy*>(a.thread_policies)[i];
  if (p.has_cpus != 0 && failed(sys(kSysSchedSetaffinity, 0, sizeof p.cpus, reinterpret_cast<long>(p.cpus)))) {
    say("cr_restart: warning: a thread's CPU affinity could not be restored\n");
  }
  if (p.mempolicy_mode >= 0 &&
      failed(sys(kSysSetMempolicy, p.mempolicy_mode, reinterpret_cast<long>(p.nodes), sizeof p.nodes * 8))) {
    say("cr_restart: warning: a thread's NUMA memory policy could not be restored\n");
  }
}

void thread_main(void* arg) { resume_thread(*static_cast<const image::ThreadRecord*>(arg), false); }

// struct clone_args of <linux/sched.h>.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

// A thread with its original tid: clone3 with set_tid (needs CAP_CHECKPOINT_RESTORE or root).
long clone_with_tid(const StageArgs& a, uint32_t i, unsigned long flags, const image::ThreadRecord& t) {
  uint64_t base = a.thread_stacks + (i + 1) * a.thread_stack_size - a.thread_stack_size;
  uint64_t top = base + a.thread_stack_size;
  auto* slots = reinterpret_cast<uint64_t*>(top - 16);
  slots[0] = reinterpret_cast<uint64_t>(&thread_main);
  slots[1] = reinterpret_cast<uint64_t>(&t);
  int32_t tid = t.tid;
  CloneArgs args{};
  args.flags = flags & ~static_cast<unsigned long>(0xff);
  args.child_tid = t.clear_child_tid;
  args.stack = base;
  args.stack_size = a.thread_stack_size - 16;
  args.tls = t.fs_base;
  args.set_tid = reinterpret_cast<uint64_t>(&tid);
  args.set_tid_size = 1;
  return stage_clone3(&args, sizeof args);
}

}  // namespace
}  // namespace crcore::stage

using namespace crcore::stage;

extern "C" [[noreturn]] void stage_main(StageArgs* args) {
  StageArgs& a = *args;
  if (a.magic != kStageArgsMagic) {
    die("bad arguments (a cr_restart/stage mismatch)", 0);
  }
  if (a.old_rseq_area != 0) {
    sys(kSysRseq, static_cast<long>(a.old_rseq_area), a.old_rseq_len, 1 /* unregister */, a.old_rseq_signature);
  }
  unmap_everything_else(a);
  move_vdso(a);
  map_regions(a);
  start_feeder(a);
  read_extents(a);
  receive_pages(a);
  wait_for_validator(a);  // before anything of the restore runs or shows outside this process
  protect_regions(a);
  restore_mm(a);
  if (failed(sys(kSysCloseRange, a.close_from, ~0u, 0))) {
    for (int fd = a.close_from; fd < a.close_from + 65536; ++fd) {  // kernels before 5.9
      sys(kSysClose, fd);
    }
  }
  if (a.restart_block_address != 0) {
    a.restart_block.new_pid = static_cast<int32_t>(sys(kSysGetpid));
    copy_bytes(reinterpret_cast<void*>(a.restart_block_address), &a.restart_block, sizeof a.restart_block);
  }
  auto* threads = reinterpret_cast<const crcore::image::ThreadRecord*>(a.threads);
  for (uint32_t i = 1; i < a.thread_count; ++i) {
    apply_thread_policy(a, i);  // inherited by the clone
    const crcore::image::ThreadRecord& t = threads[i];
    unsigned long flags = kCloneThreadFlags;
    if (t.clear_child_tid != 0) {
      flags |= kCloneChildSettid | kCloneChildCleartid;
    }
    void* stack = reinterpret_cast<void*>(a.thread_stacks + (i + 1) * a.thread_stack_size);
    long rc;
    if (a.restore_tids != 0) {
      rc = clone_with_tid(a, i, flags, t);
    } else {
      rc = stage_clone(flags, stack, nullptr, reinterpret_cast<int*>(t.clear_child_tid), t.fs_base, thread_main,
                       const_cast<crcore::image::ThreadRecord*>(&t));
    }
    if (failed(rc)) {
      die("cannot create a thread", rc);
    }
  }
  apply_thread_policy(a, 0);
  resume_thread(threads[0], true);
}
