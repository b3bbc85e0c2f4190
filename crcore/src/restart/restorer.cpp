// cr_restart's orchestration (see restorer.h).
#include "restart/restorer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "common/usable_cpus.h"
#include "image/image_reader.h"
#include "restart/fd_restore.h"
#include "restart/image_chain.h"
#include "restart/page_feeder.h"
#include "restart/resource_restore.h"
#include "restart/restart_extents.h"
#include "restart/thread_placement.h"
#include "stage/stage_args.h"

extern "C" const unsigned char crcore_stage_blob[];
extern "C" const unsigned char crcore_stage_blob_end[];

namespace crcore::restart {
namespace {

// Our own environment, for the restored process (crcore_restart_environment): a memfd left open at
// descriptor `slot` (free: between the image's highest descriptor and the floor of ours). Returns
// slot + 1, or 0 when it cannot be passed (the restored process then simply has none).
uint32_t pass_environment(int slot) {
  if (fcntl(slot, F_GETFD) >= 0) {
    return 0;  // taken by one of ours
  }
  int fd = memfd_create("crcore-restart-environment", 0);
  if (fd < 0) {
    return 0;
  }
  bool ok = true;
  for (char** e = environ; ok && *e != nullptr; ++e) {
    size_t length = strlen(*e) + 1;
    ok = write(fd, *e, length) == static_cast<ssize_t>(length);
  }
  if (!ok || dup2(fd, slot) != slot) {
    close(fd);
    return 0;
  }
  if (fd != slot) {
    close(fd);
  }
  return static_cast<uint32_t>(slot) + 1;
}

// How many threads of the stage read the uncompressed pages: two where this process may use two CPUs
// (the kernel allocates and zeroes the fresh pages on both), unless CRCORE_RESTART_READERS=1.
uint32_t extent_readers() {
  if (const char* choice = getenv("CRCORE_RESTART_READERS"); choice != nullptr && strcmp(choice, "1") == 0) {
    return 1;
  }
  return usable_cpus() >= 2 ? 2 : 1;
}

constexpr uint64_t kPage = 4096;
constexpr uint64_t kTaskSize = image::kUserAddressLimit;
constexpr uint64_t kThreadStackSize = 64 * 1024;
constexpr uint64_t kMainStackSize = 256 * 1024;
constexpr uint64_t kTempSize = 1 << 20;  // parks the vdso while it moves

uint64_t round_up(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

struct Mapping {
  uint64_t start, end;
  std::string name;
};

std::vector<Mapping> own_mappings() {
  std::ifstream maps("/proc/self/maps");
  std::vector<Mapping> out;
  std::string line;
  while (std::getline(maps, line)) {
    Mapping m{};
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode;
    in >> range >> perms >> offset >> dev >> inode;
    std::getline(in, m.name);
    m.name.erase(0, m.name.find_first_not_of(' '));
    m.start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    m.end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    out.push_back(m);
  }
  return out;
}

image::SpecialMapKind special_kind(const std::string& name) {
  if (name == "[vvar]") {
    return image::SpecialMapKind::Vvar;
  }
  if (name == "[vvar_vclock]") {
    return image::SpecialMapKind::VvarVclock;
  }
  if (name == "[vdso]") {
    return image::SpecialMapKind::Vdso;
  }
  return image::SpecialMapKind::None;
}

// The vdso/vvar of this kernel must have the sizes the image's glibc knew.
void check_vdso(const image::Image& img, const std::vector<Mapping>& own, stage::StageArgs& args) {
  args.current_special_count = 0;
  for (const auto& m : own) {
    auto kind = special_kind(m.name);
    if (kind == image::SpecialMapKind::None) {
      continue;
    }
    if (args.current_special_count == image::kMaxSpecialMaps) {
      throw RestartError("this kernel has more vdso/vvar mappings than crcore knows");
    }
    args.current_special[args.current_special_count++] = {m.start, m.end, static_cast<uint32_t>(kind), 0};
  }
  args.image_special_count = img.mm.special_count;
  for (uint32_t i = 0; i < img.mm.special_count; ++i) {
    const auto& s = img.mm.special[i];
    args.image_special[i] = {s.start, s.end, s.kind, 0};
    bool matched = false;
    for (uint32_t k = 0; k < args.current_special_count; ++k) {
      const auto& c = args.current_special[k];
      if (c.kind == s.kind) {
        matched = true;
        if (c.end - c.start != s.end - s.start) {
          throw RestartError("the kernel's vdso/vvar differ from the checkpointing kernel's (" + img.kernel +
                             "): restart on a machine with the same kernel");
        }
      }
    }
    if (!matched) {
      throw RestartError("this kernel lacks a vdso/vvar mapping the image's program used (kernel " + img.kernel + ")");
    }
  }
}

// A place for the stage that is free in the image and in this process now.
uint64_t place_stage(const image::Image& img, uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (const auto& r : img.regions) {
    used.emplace_back(r.record.start, r.record.end);
  }
  for (uint32_t i = 0; i < img.mm.special_count; ++i) {
    used.emplace_back(img.mm.special[i].start, img.mm.special[i].end);
  }
  std::sort(used.begin(), used.end());
  constexpr uint64_t kMargin = 16ull << 20;  // away from neighbours that grow (stacks, heap)
  uint64_t low = 1ull << 32;
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t cursor = low;
  for (const auto& [s, e] : used) {
    if (s > cursor) {
      gaps.emplace_back(cursor, s);
    }
    cursor = std::max(cursor, e);
  }
  gaps.emplace_back(cursor, kTaskSize - (1ull << 30));
  std::reverse(gaps.begin(), gaps.end());  // prefer high addresses
  for (const auto& [gs, ge] : gaps) {
    if (ge <= gs || ge - gs < size + 2 * kMargin) {
      continue;
    }
    for (uint64_t candidate = ge - kMargin - size; candidate >= gs + kMargin; candidate -= 64ull << 20) {
      void* p = mmap(reinterpret_cast<void*>(candidate), size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p != MAP_FAILED) {
        return candidate;
      }
      if (candidate < (64ull << 20) + gs + kMargin) {
        break;
      }
    }
  }
  throw RestartError("no room for the restart stage in the image's address space");
}

void restore_process_state(const image::Image& img, const RestartOptions& options) {
  if (chdir(relocate(img.cwd, options).c_str()) != 0) {
    fprintf(stderr, "cr_restart: warning: cannot return to the working directory %s: %s\n", img.cwd.c_str(),
            strerror(errno));
  }
  umask(static_cast<mode_t>(img.process.umask));
  for (int r = 0; r < static_cast<int>(image::kRlimitCount) && r < RLIM_NLIMITS; ++r) {
    struct rlimit now;
    if (getrlimit(r, &now) != 0) {
      continue;
    }
    struct rlimit want {
      img.rlimits.cur[r], img.rlimits.max[r]
    };
    if (want.rlim_cur == now.rlim_cur && want.rlim_max == now.rlim_max) {
      continue;
    }
    if (setrlimit(r, &want) != 0) {
      // Never more than this user may have: keep the hard limit, clamp the soft one.
      want.rlim_max = now.rlim_max;
      want.rlim_cur = std::min<rlim_t>(img.rlimits.cur[r], now.rlim_max);
      setrlimit(r, &want);
    }
  }
}

void restore_signal_dispositions(const image::Image& img) {
  for (int sig = 1; sig <= static_cast<int>(image::kSignalCount); ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) {
      continue;
    }
    syscall(SYS_rt_sigaction, sig, &img.sigactions.action[sig - 1], nullptr, 8);
  }
}

uint32_t map_flags(const image::RegionEntry& r) {
  using image::RegionKind;
  auto kind = static_cast<RegionKind>(r.record.kind);
  uint32_t flags = 0;
  switch (kind) {
    case RegionKind::AnonShared:
      flags = stage::kMapShared | stage::kMapAnonymous;
      break;
    case RegionKind::FileShared:
      flags = stage::kMapShared;
      break;
    case RegionKind::FilePrivate:
      break;
    case RegionKind::Stack:
      flags = stage::kMapAnonymous | stage::kMapGrowsDown;
      break;
    default:
      flags = stage::kMapAnonymous;
      break;
  }
  if (r.record.pages_saved > 0) {
    flags |= stage::kMapHasData;
  }
  return flags;
}

int prot_bits(uint32_t prot) {
  return ((prot & image::kProtRead) ? PROT_READ : 0) | ((prot & image::kProtWrite) ? PROT_WRITE : 0) |
         ((prot & image::kProtExec) ? PROT_EXEC : 0);
}

[[noreturn]] void jump_to_stage(uint64_t entry, stage::StageArgs* args, uint64_t stack_top) {
  __asm__ volatile(
      "mov %0, %%rdi\n"
      "mov %1, %%rsi\n"
      "jmp *%2\n"
      :
      : "r"(args), "r"(stack_top), "r"(entry)
      : "rdi", "rsi", "memory");
  __builtin_unreachable();
}

}  // namespace

std::string relocate(const std::string& path, const RestartOptions& options) {
  for (const auto& [from, to] : options.relocations) {
    if (path == from) {
      return to;
    }
    if (path.size() > from.size() && path.compare(0, from.size(), from) == 0 && path[from.size()] == '/') {
      return to + path.substr(from.size());
    }
  }
  return path;
}

void restore(const image::Image& img, const RestartOptions& options) {
  // 1. Everything that may fail for a fixable reason, before anything changes.
  std::vector<Mapping> own = own_mappings();
  auto args_holder = std::make_unique<stage::StageArgs>();
  stage::StageArgs& args = *args_holder;
  memset(&args, 0, sizeof args);
  check_vdso(img, own, args);
  FdRestore fds(img, options);
  int floor = fds.highest() + 16;

  std::vector<stage::StageRegion> regions;
  for (const auto& r : img.regions) {
    stage::StageRegion s{};
    s.start = r.record.start;
    s.end = r.record.end;
    s.file_offset = r.record.file_offset;
    s.prot = static_cast<uint32_t>(prot_bits(r.record.prot));
    s.flags = map_flags(r);
    s.advice = r.record.flags & image::kRegionAdvice;
    s.fd = -1;
    auto kind = static_cast<image::RegionKind>(r.record.kind);
    if (kind == image::RegionKind::FilePrivate || kind == image::RegionKind::FileShared) {
      std::string path = relocate(r.path, options);
      bool writable_shared = kind == image::RegionKind::FileShared && (r.record.prot & image::kProtWrite) != 0;
      int fd = open(path.c_str(), (writable_shared ? O_RDWR : O_RDONLY) | O_CLOEXEC);
      if (fd < 0) {
        throw RestartError("cannot open " + path + ", mapped at " + std::to_string(r.record.start) + ": " +
                           strerror(errno) + (options.relocations.empty() ? " (moved? use --relocate OLD=NEW)" : ""));
      }
      struct stat st;
      fstat(fd, &st);
      if (static_cast<uint64_t>(st.st_size) != r.record.file_size && kind == image::RegionKind::FilePrivate &&
          (r.record.prot & image::kProtExec) != 0) {
        close(fd);
        throw RestartError(path +
                           " changed since the checkpoint (its size differs): the program's code is not the same");
      }
      int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
      close(fd);
      s.fd = high;
    }
    regions.push_back(s);
  }

  // The uncompressed pages: read by the stage itself, straight into place.
  std::vector<stage::StageExtent> extents = stage_extents(img, options.chain, floor);

  // 2. The stage's mapping: blob, arguments, regions, extents, threads, stacks, spare room.
  size_t blob_size = static_cast<size_t>(crcore_stage_blob_end - crcore_stage_blob);
  uint64_t blob_bytes = round_up(blob_size);
  uint64_t args_bytes = round_up(sizeof(stage::StageArgs));
  uint64_t region_bytes = round_up(regions.size() * sizeof(stage::StageRegion));
  uint64_t extent_bytes = round_up(extents.size() * sizeof(stage::StageExtent));
  uint64_t thread_bytes = round_up(img.threads.size() * sizeof(image::ThreadRecord));
  uint64_t stacks_bytes = (img.threads.size() + 1) * kThreadStackSize;
  uint64_t policy_bytes = round_up(img.threads.size() * sizeof(stage::StageThreadPolicy));
  uint64_t total = blob_bytes + args_bytes + region_bytes + extent_bytes + thread_bytes + policy_bytes + stacks_bytes +
                   kMainStackSize + kTempSize;
  uint64_t base = place_stage(img, total);
  auto* area = reinterpret_cast<unsigned char*>(base);
  memcpy(area, crcore_stage_blob, blob_size);
  uint64_t cursor = base + blob_bytes;
  auto* stage_args = reinterpret_cast<stage::StageArgs*>(cursor);
  cursor += args_bytes;
  args.regions = cursor;
  memcpy(reinterpret_cast<void*>(cursor), regions.data(), regions.size() * sizeof(stage::StageRegion));
  cursor += region_bytes;
  args.extents = cursor;
  args.extent_count = extents.size();
  if (!extents.empty()) {
    memcpy(reinterpret_cast<void*>(cursor), extents.data(), extents.size() * sizeof(stage::StageExtent));
  }
  cursor += extent_bytes;
  args.threads = cursor;
  auto* threads = reinterpret_cast<image::ThreadRecord*>(cursor);
  size_t t = 1;
  for (const auto& th : img.threads) {
    if ((th.flags & image::kThreadMain) != 0) {
      threads[0] = th;
    } else {
      threads[t++] = th;
    }
  }
  cursor += thread_bytes;
  if (!options.no_affinity) {
    std::vector<image::ThreadRecord> ordered(threads, threads + img.threads.size());
    std::vector<stage::StageThreadPolicy> policies = place_threads(img, ordered, options.quiet);
    memcpy(reinterpret_cast<void*>(cursor), policies.data(), policies.size() * sizeof(stage::StageThreadPolicy));
    args.thread_policies = cursor;
  }
  cursor += policy_bytes;
  args.thread_stacks = cursor;
  args.thread_stack_size = kThreadStackSize;
  args.restore_tids = options.restore_tids ? 1 : 0;
  args.extent_readers = extent_readers();
  cursor += stacks_bytes;
  uint64_t main_stack_top = cursor + kMainStackSize;
  cursor += kMainStackSize;
  args.temp_start = cursor;
  args.temp_length = kTempSize;
  munmap(reinterpret_cast<void*>(args.temp_start), kTempSize);  // must be free for mremap

  args.magic = stage::kStageArgsMagic;
  args.stage_start = base;
  args.stage_length = total - kTempSize;
  args.task_size = kTaskSize;
  args.region_count = static_cast<uint32_t>(regions.size());
  args.thread_count = static_cast<uint32_t>(img.threads.size());
  args.mm = {img.mm.start_code,
             img.mm.end_code,
             img.mm.start_data,
             img.mm.end_data,
             img.mm.start_brk,
             img.mm.brk,
             img.mm.start_stack,
             img.mm.arg_start,
             img.mm.arg_end,
             img.mm.env_start,
             img.mm.env_end,
             0,
             0,
             static_cast<uint32_t>(-1)};
  memcpy(args.auxv, img.mm.auxv, sizeof args.auxv);
  args.mm.auxv_size = img.mm.auxv_count * 16;
  args.restart_block_address = img.process.runtime_restart_block;
  args.restart_block.version = runtime::kRestartBlockVersion;
  args.restart_block.restarted = 1;
  args.restart_block.old_pid = img.process.pid;
  args.restart_block.stage_start = base;
  args.restart_block.stage_length = total - kTempSize;
  args.restart_block.flags = options.after_flags;
  char resolved[PATH_MAX];
  if (realpath(options.image_path.c_str(), resolved) != nullptr) {
    snprintf(args.restart_block.image_path, sizeof args.restart_block.image_path, "%s", resolved);
  }
  if (__rseq_size > 0) {
    args.old_rseq_area = reinterpret_cast<uint64_t>(__builtin_thread_pointer()) + __rseq_offset;
    args.old_rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
    args.old_rseq_signature = RSEQ_SIG;
  }

  // Everything that could be checked has been: --run-on-success says so now, while it still can
  // (the restored process is the program, not cr_restart).
  if (!options.run_on_success.empty() && std::system(options.run_on_success.c_str()) != 0) {
    fprintf(stderr, "cr_restart: the --run-on-success command failed\n");
  }

  // 3. From here on the old process is being recreated.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  // The feeder sends the compressed pages only (the stage reads the others itself): none, no feeder
  // (its fork was a few ms of every restart; the stage then skips receive_pages).
  std::optional<PageFeeder> feeder;
  if (PageFeeder::has_compressed_pages(options.chain, img)) {
    if (options.chain != nullptr) {
      feeder.emplace(*options.chain, floor, true);
    } else {
      feeder.emplace(img, floor, true);
    }
  }
  args.feeder_fd = feeder ? feeder->read_fd() : -1;
  args.feeder_pid = feeder ? feeder->pid() : 0;
  args.feeder_go_fd = feeder ? feeder->go_fd() : -1;
  args.validator_pid = options.page_validator;  // its verdict: before any restored code runs (stage.cpp)
  args.report_fd = options.page_validator != 0 ? fcntl(2, F_DUPFD_CLOEXEC, floor) : -1;  // our stderr, for it
  args.close_from = floor;  // the feeder's pipe, file mappings, the exe: all lifted above the floor
  // /proc/PID/exe of the restored process: the program again (where the kernel lets us).
  int exe_fd = open(relocate(img.exe, options).c_str(), O_RDONLY | O_CLOEXEC);
  if (exe_fd >= 0) {
    int high = fcntl(exe_fd, F_DUPFD_CLOEXEC, floor);
    close(exe_fd);
    args.mm.exe_fd = static_cast<uint32_t>(high);
  }
  restore_process_state(img, options);
  fds.install(floor);
  args.restart_block.reserved = pass_environment(floor - 1);  // after install: it closes strays below the floor
  restore_process_resources(img);                             // timers, itimers, prctl (resource_restore.cpp)
  restore_signal_dispositions(img);
  memcpy(stage_args, &args, sizeof args);
  if (mprotect(area, blob_bytes, PROT_READ | PROT_EXEC) != 0) {
    fprintf(stderr, "cr_restart: cannot make the restart stage executable: %s\n", strerror(errno));
    _exit(127);
  }
  fflush(nullptr);
  jump_to_stage(base, stage_args, main_stack_top);
}

}  // namespace crcore::restart
