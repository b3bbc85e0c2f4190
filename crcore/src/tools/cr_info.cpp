// cr_info: shows what a crcore image holds.
//
//   cr_info [--json] [--regions] [--fds] IMAGE
//
// The image is fully validated first (ImageReader::load); a damaged image prints the reader's message
// and exits 1. --json prints the same information as JSON for tools (sizes in bytes, times in ns).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "image/image_reader.h"
#include "image/kind_names.h"
#include "image/scope_index.h"
#include "restart/image_chain.h"
#include "restart/thread_placement.h"

namespace crcore::image {
namespace {

constexpr uint64_t kPageSize = 4096;

struct Options {
  std::string path;
  bool json = false;
  bool regions = false;
  bool fds = false;
  bool resources = false;
};

struct KindTotals {
  size_t regions = 0;
  uint64_t mapped = 0;  // bytes
  uint64_t saved = 0;   // bytes of saved pages
};

// Figures derived from an image.
struct Summary {
  uint64_t mapped = 0;
  uint64_t saved = 0;
  uint64_t stored = 0;  // bytes the saved pages take in the file (compressed or not)
  size_t compressed_records = 0;
  size_t shuffled_records = 0;             // of the compressed ones, byte-shuffled (kRecordShuffle8)
  std::map<uint32_t, KindTotals> by_kind;  // RegionKind value -> totals, in kind order
  uint64_t buffered_fd_bytes = 0;
};

Summary summarize(const Image& image) {
  Summary s;
  for (const RegionEntry& region : image.regions) {
    KindTotals& totals = s.by_kind[region.record.kind];
    uint64_t size = region.record.end - region.record.start;
    totals.regions += 1;
    totals.mapped += size;
    totals.saved += region.record.pages_saved * kPageSize;
    s.mapped += size;
    s.saved += region.record.pages_saved * kPageSize;
  }
  for (const PagesRef& pages : image.pages) {
    s.stored += pages.stored_size - sizeof(PagesHeader);
    s.compressed_records += (pages.flags & kRecordZstd) != 0 ? 1 : 0;
    s.shuffled_records += (pages.flags & kRecordShuffle8) != 0 ? 1 : 0;
  }
  for (const FdDataEntry& data : image.fd_data) {
    s.buffered_fd_bytes += data.bytes.size();
  }
  return s;
}

std::string human(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string hex_id(const uint8_t (&id)[16]) {
  std::string out;
  for (uint8_t b : id) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

std::string local_time(uint64_t ns, bool iso) {
  std::time_t seconds = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm = fmt::localtime(seconds);
  return iso ? fmt::format("{:%Y-%m-%dT%H:%M:%S%z}", tm) : fmt::format("{:%Y-%m-%d %H:%M:%S %Z}", tm);
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    out += out.empty() ? "" : separator;
    out += part;
  }
  return out;
}

std::string thread_name(const ThreadRecord& thread) {
  return std::string(thread.name, strnlen(thread.name, sizeof thread.name));
}

std::vector<std::string> thread_flags(const ThreadRecord& thread) {
  std::vector<std::string> flags;
  if ((thread.flags & kThreadMain) != 0) {
    flags.emplace_back("main");
  }
  if ((thread.flags & kThreadRuntime) != 0) {
    flags.emplace_back("runtime");
  }
  return flags;
}

bool is_shared(RegionKind kind) { return kind == RegionKind::AnonShared || kind == RegionKind::FileShared; }

// "rwxp" as in /proc/PID/maps.
std::string prot_string(const RegionRecord& region) {
  std::string s = "---p";
  s[0] = (region.prot & kProtRead) != 0 ? 'r' : '-';
  s[1] = (region.prot & kProtWrite) != 0 ? 'w' : '-';
  s[2] = (region.prot & kProtExec) != 0 ? 'x' : '-';
  s[3] = is_shared(static_cast<RegionKind>(region.kind)) ? 's' : 'p';
  return s;
}

// The region's madvise(2) advice, by the names /proc/PID/smaps gives it in VmFlags.
std::vector<std::string> advice_names(const RegionRecord& region) {
  std::vector<std::string> names;
  for (const RegionAdviceName& a : kRegionAdviceNames) {
    if ((region.flags & a.bit) != 0) {
      names.emplace_back(a.name);
    }
  }
  return names;
}

std::string advice_string(const RegionRecord& region) {
  std::vector<std::string> names = advice_names(region);
  return names.empty() ? "-" : fmt::format("{}", fmt::join(names, ","));
}

std::vector<std::string> fd_flags(const FdRecord& fd) {
  std::vector<std::string> flags;
  switch (fd.open_flags & O_ACCMODE) {
    case O_RDONLY:
      flags.emplace_back("read");
      break;
    case O_WRONLY:
      flags.emplace_back("write");
      break;
    default:
      flags.emplace_back("read-write");
      break;
  }
  if ((fd.open_flags & O_APPEND) != 0) {
    flags.emplace_back("append");
  }
  if ((fd.open_flags & O_NONBLOCK) != 0) {
    flags.emplace_back("nonblock");
  }
  if ((fd.fd_flags & FD_CLOEXEC) != 0) {
    flags.emplace_back("cloexec");
  }
  return flags;
}

std::string region_name(uint32_t kind) { return std::string(region_kind_name(static_cast<RegionKind>(kind))); }
std::string fd_name(uint32_t kind) { return std::string(fd_kind_name(static_cast<FdKind>(kind))); }

// One line about a Resource record: what it holds.
std::string resource_summary(const ResourceEntry& e) {
  auto type = static_cast<ResourceType>(e.header.type);
  std::string who = e.header.fd >= 0    ? fmt::format("fd {}", e.header.fd)
                    : e.header.tid != 0 ? fmt::format("thread {}", e.header.tid)
                                        : std::string("process");
  std::string what;
  switch (type) {
    case ResourceType::FdInfo: {
      std::string_view t = e.text();
      size_t lines = static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
      what = fmt::format("{} lines of fdinfo", lines);
      break;
    }
    case ResourceType::FileContents:
      what = fmt::format("{} of contents", human(e.bytes.size()));
      break;
    case ResourceType::PosixTimer: {
      PosixTimerResource t;
      memcpy(&t, e.bytes.data(), sizeof t);
      what = fmt::format("timer {} clock {} signal {} {} left {} ns interval {} ns", t.id, t.clock, t.signal,
                         t.notify == kTimerNotifyNone ? "(none)" : "(signal)", t.value_ns, t.interval_ns);
      break;
    }
    case ResourceType::IntervalTimer: {
      IntervalTimerResource t;
      memcpy(&t, e.bytes.data(), sizeof t);
      what = fmt::format("{} left {} ns interval {} ns",
                         t.which == 0   ? "ITIMER_REAL"
                         : t.which == 1 ? "ITIMER_VIRTUAL"
                                        : "ITIMER_PROF",
                         t.value_ns, t.interval_ns);
      break;
    }
    case ResourceType::Prctl: {
      PrctlResource p;
      memcpy(&p, e.bytes.data(), sizeof p);
      what = fmt::format("pdeath signal {}, dumpable {}, child subreaper {}, no_new_privs {}, timer slack {} ns",
                         p.pdeath_signal, p.dumpable, p.child_subreaper, p.no_new_privs, p.timer_slack_ns);
      break;
    }
    case ResourceType::Affinity: {
      std::string cpus;
      for (size_t i = 0; i < e.bytes.size() * 8; ++i) {
        if ((static_cast<unsigned>(e.bytes[i / 8]) >> (i % 8)) & 1u) {
          cpus += (cpus.empty() ? "" : ",") + std::to_string(i);
        }
      }
      what = "CPUs " + cpus;
      break;
    }
    case ResourceType::MemPolicy: {
      MemPolicyResource m;
      memcpy(&m, e.bytes.data(), sizeof m);
      what = fmt::format("NUMA policy mode {:#x} nodes {:#x}", m.mode, m.nodes[0]);
      break;
    }
    case ResourceType::Topology:
      what = crcore::restart::describe_topology(std::string(e.text()));
      break;
    case ResourceType::Terminal: {
      TerminalResource t;
      memcpy(&t, e.bytes.data(), sizeof t);
      what = fmt::format("terminal settings, {}x{}", t.rows, t.cols);
      break;
    }
    case ResourceType::SysvSem: {
      SysvSemResource s;
      memcpy(&s, e.bytes.data(), sizeof s);
      std::string values;
      for (uint32_t i = 0; i < s.nsems && i < 16; ++i) {
        uint16_t v = 0;
        memcpy(&v, e.bytes.data() + sizeof s + i * 2, sizeof v);
        values += (i == 0 ? "" : " ") + std::to_string(v);
      }
      what = fmt::format("semaphore set {} key {:#x} mode {:o}, {} values: {}{}", s.id, static_cast<uint32_t>(s.key),
                         s.mode, s.nsems, values, s.nsems > 16 ? " ..." : "");
      break;
    }
    case ResourceType::SysvMsg: {
      SysvMsgResource q;
      memcpy(&q, e.bytes.data(), sizeof q);
      what = fmt::format("message queue {} key {:#x} mode {:o}, {} messages ({} bytes with headers), qbytes {}", q.id,
                         static_cast<uint32_t>(q.key), q.mode, q.count, e.bytes.size() - sizeof q, q.qbytes);
      break;
    }
    case ResourceType::SysvShm: {
      SysvShmResource m;
      memcpy(&m, e.bytes.data(), sizeof m);
      what = fmt::format("shared memory segment {} key {:#x} mode {:o}, {} bytes, attached at {:#x}{}{}{}", m.id,
                         static_cast<uint32_t>(m.key), m.mode, m.size, m.address,
                         (m.flags & kSysvShmReadOnly) != 0 ? " read-only" : "",
                         (m.flags & kSysvShmExec) != 0 ? " exec" : "",
                         (m.flags & kSysvShmRemoved) != 0 ? ", marked for deletion" : "");
      break;
    }
    case ResourceType::RegionMemPolicy: {
      RegionMemPolicyResource r;
      memcpy(&r, e.bytes.data(), sizeof r);
      what = fmt::format("{:#x}-{:#x} NUMA policy mode {:#x} nodes {:#x}", r.start, r.end, r.mode, r.nodes[0]);
      break;
    }
  }
  return fmt::format("{:<13} {:<13} {}", resource_type_name(type), who, what);
}

void print_resources(const Image& image, const Options& options) {
  if (image.resources.empty()) {
    return;
  }
  std::map<std::string, size_t> counts;
  for (const auto& e : image.resources) {
    counts[std::string(resource_type_name(static_cast<ResourceType>(e.header.type)))]++;
  }
  std::vector<std::string> parts;
  for (const auto& [name, n] : counts) {
    parts.push_back(fmt::format("{} {}", n, name));
  }
  fmt::print("resources    {} ({})\n", image.resources.size(), join(parts, ", "));
  for (const auto& e : image.resources) {
    if (static_cast<ResourceType>(e.header.type) == ResourceType::Topology) {
      fmt::print("topology     {}\n", crcore::restart::describe_topology(std::string(e.text())));
    }
  }
  if (options.resources) {
    fmt::print("\nresources\n");
    for (const auto& e : image.resources) {
      fmt::print("  {}\n", resource_summary(e));
    }
  }
}

// An incremental image's chain: the files, newest first, down to the full image; or why it is broken.
struct ChainView {
  std::vector<std::string> paths;
  std::string problem;
};

ChainView chain_of(const Image& image) {
  ChainView view;
  if ((image.header.flags & kFileIncremental) == 0) {
    return view;
  }
  try {
    restart::ImageChain chain = restart::load_chain(image);
    for (const Image& link : chain.images) {
      view.paths.push_back(link.path);
    }
  } catch (const std::exception& e) {
    view.problem = e.what();
  }
  return view;
}

void print_text(const Image& image, const Summary& s, const Options& options) {
  const ProcessRecord& p = image.process;
  fmt::print("image        {}: {}, format version {}, id {}\n", image.path, human(image.file_size),
             image.header.version, hex_id(image.header.image_id));
  fmt::print("program      {}\n", image.exe);
  fmt::print("cmdline      {}\n", join(image.cmdline, " "));
  fmt::print("cwd          {}\n", image.cwd);
  fmt::print("pid          {} (ppid {}, uid {}, gid {}), checkpoint {} of this process\n", p.pid, p.ppid, p.uid, p.gid,
             p.checkpoint_serial);
  fmt::print("host         {}, kernel {}\n", image.hostname, image.kernel);
  fmt::print("taken        {}\n", local_time(image.header.created_ns, false));
  if ((image.header.flags & kFileIncremental) != 0) {
    ChainView chain = chain_of(image);
    fmt::print("incremental  parent {}\n", hex_id(image.header.parent_id));
    if (chain.problem.empty()) {
      fmt::print("chain        {} (full)\n", join(chain.paths, " <- "));
    } else {
      fmt::print("chain        broken: {}\n", chain.problem);
    }
  }

  fmt::print("threads      {}\n", image.threads.size());
  fmt::print("  {:<8} {:<14} {}\n", "TID", "FLAGS", "NAME");
  for (const ThreadRecord& thread : image.threads) {
    fmt::print("  {:<8} {:<14} {}\n", thread.tid, join(thread_flags(thread), ","), thread_name(thread));
  }

  fmt::print("memory       {} regions, {} mapped, {} saved ({} in the file, {} of {} Pages records compressed{})\n",
             image.regions.size(), human(s.mapped), human(s.saved), human(s.stored), s.compressed_records,
             image.pages.size(),
             s.compressed_records != 0 ? fmt::format(", {} of those byte-shuffled", s.shuffled_records) : "");
  fmt::print("  {:<14} {:>7} {:>11} {:>11}\n", "KIND", "REGIONS", "MAPPED", "SAVED");
  for (const auto& [kind, totals] : s.by_kind) {
    fmt::print("  {:<14} {:>7} {:>11} {:>11}\n", region_name(kind), totals.regions, human(totals.mapped),
               human(totals.saved));
  }
  fmt::print("descriptors  {} ({} buffered in pipes)\n", image.fds.size(), human(s.buffered_fd_bytes));
  print_resources(image, options);

  if (options.regions) {
    fmt::print("\nregions\n  {:<33} {:>11} {:<4} {:<13} {:>8} {:<8}  {}\n", "RANGE", "SIZE", "PROT", "KIND", "PAGES",
               "ADVICE", "PATH");
    for (const RegionEntry& region : image.regions) {
      const RegionRecord& r = region.record;
      fmt::print("  {:016x}-{:016x} {:>11} {:<4} {:<13} {:>8} {:<8}  {}\n", r.start, r.end, human(r.end - r.start),
                 prot_string(r), region_name(r.kind), r.pages_saved, advice_string(r), region.path);
    }
  }
  if (options.fds) {
    fmt::print("\ndescriptors\n  {:>5} {:<12} {:<26} {:>12}  {}\n", "FD", "KIND", "FLAGS", "OFFSET", "PATH");
    for (const FdEntry& fd : image.fds) {
      const FdRecord& f = fd.record;
      std::string offset = f.offset < 0 ? "-" : fmt::format("{}", f.offset);
      fmt::print("  {:>5} {:<12} {:<26} {:>12}  {}\n", f.fd, fd_name(f.kind), join(fd_flags(f), ","), offset, fd.path);
    }
  }
}

nlohmann::ordered_json to_json(const Image& image, const Summary& s, const Options& options) {
  using json = nlohmann::ordered_json;
  const ProcessRecord& p = image.process;
  json out;
  out["image"] = {{"path", image.path},
                  {"size", image.file_size},
                  {"version", image.header.version},
                  {"id", hex_id(image.header.image_id)},
                  {"created_ns", image.header.created_ns},
                  {"created", local_time(image.header.created_ns, true)},
                  {"records", image.end.record_count + 1},
                  {"incremental", (image.header.flags & kFileIncremental) != 0}};
  if ((image.header.flags & kFileIncremental) != 0) {
    ChainView chain = chain_of(image);
    out["image"]["parent_id"] = hex_id(image.header.parent_id);
    out["image"]["chain"] = chain.paths;
    if (!chain.problem.empty()) {
      out["image"]["chain_problem"] = chain.problem;
    }
  }
  out["process"] = {{"exe", image.exe},
                    {"cmdline", image.cmdline},
                    {"cwd", image.cwd},
                    {"pid", p.pid},
                    {"ppid", p.ppid},
                    {"pgid", p.pgid},
                    {"sid", p.sid},
                    {"uid", p.uid},
                    {"gid", p.gid},
                    {"euid", p.euid},
                    {"egid", p.egid},
                    {"hostname", image.hostname},
                    {"kernel", image.kernel},
                    {"checkpoint_serial", p.checkpoint_serial},
                    {"environment_count", image.environment.size()}};
  json threads = json::array();
  for (const ThreadRecord& thread : image.threads) {
    threads.push_back({{"tid", thread.tid}, {"flags", thread_flags(thread)}, {"name", thread_name(thread)}});
  }
  out["threads"] = threads;
  json by_kind = json::object();
  for (const auto& [kind, totals] : s.by_kind) {
    by_kind[region_name(kind)] = {{"regions", totals.regions}, {"mapped", totals.mapped}, {"saved", totals.saved}};
  }
  out["memory"] = {{"regions", image.regions.size()},
                   {"mapped", s.mapped},
                   {"saved", s.saved},
                   {"stored", s.stored},
                   {"pages_records", image.pages.size()},
                   {"compressed_records", s.compressed_records},
                   {"shuffled_records", s.shuffled_records},
                   {"by_kind", by_kind}};
  out["descriptors"] = {{"count", image.fds.size()}, {"buffered_bytes", s.buffered_fd_bytes}};
  json resources = json::array();
  for (const auto& e : image.resources) {
    auto type = static_cast<ResourceType>(e.header.type);
    resources.push_back({{"type", resource_type_name(type)},
                         {"fd", e.header.fd},
                         {"tid", e.header.tid},
                         {"bytes", e.bytes.size()},
                         {"summary", resource_summary(e)}});
    if (type == ResourceType::Topology) {
      out["topology"] = crcore::restart::describe_topology(std::string(e.text()));
    }
  }
  out["resources"] = resources;
  if (options.regions) {
    json regions = json::array();
    for (const RegionEntry& region : image.regions) {
      const RegionRecord& r = region.record;
      regions.push_back({{"start", r.start},
                         {"end", r.end},
                         {"size", r.end - r.start},
                         {"prot", prot_string(r)},
                         {"kind", region_name(r.kind)},
                         {"pages_saved", r.pages_saved},
                         {"file_offset", r.file_offset},
                         {"inode", r.inode},
                         {"advice", advice_names(r)},
                         {"path", region.path}});
    }
    out["regions"] = regions;
  }
  if (options.fds) {
    json fds = json::array();
    for (const FdEntry& fd : image.fds) {
      const FdRecord& f = fd.record;
      fds.push_back({{"fd", f.fd},
                     {"kind", fd_name(f.kind)},
                     {"flags", fd_flags(f)},
                     {"offset", f.offset},
                     {"inode", f.inode},
                     {"path", fd.path}});
    }
    out["fds"] = fds;
  }
  return out;
}

int run(const Options& options) {
  try {
    ImageReader reader(options.path);
    Image image = reader.load();
    Summary summary = summarize(image);
    if (options.json) {
      // Paths and command lines are not guaranteed UTF-8: replace invalid bytes rather than fail.
      std::cout
          << to_json(image, summary, options).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
          << "\n";
    } else {
      print_text(image, summary, options);
    }
  } catch (const ImageError& e) {
    fmt::print(stderr, "cr_info: {}\n", e.what());
    return 1;
  }
  return 0;
}

// The index of a --tree/--pgid/--sid checkpoint: the scope, then one line per process, each
// image validated as it is summarised.
int show_scope_index(const std::string& path) {
  ScopeIndex index = read_scope_index(path);
  std::printf("scope %s %d: %zu entries (index %s)\n", scope_kind_name(index.kind), index.id, index.entries.size(),
              path.c_str());
  for (const auto& e : index.entries) {
    if (e.zombie) {
      std::printf("  zombie  %d ppid %d pgid %d sid %d, wait status %#x\n", e.pid, e.ppid, e.pgid, e.sid,
                  static_cast<unsigned>(e.exit_status));
      continue;
    }
    Image img = ImageReader(scope_image_path(path, e)).load();
    std::printf("  process %d ppid %d pgid %d sid %d: %s, %zu threads, %zu regions, %zu descriptors\n", e.pid, e.ppid,
                e.pgid, e.sid, e.image.c_str(), img.threads.size(), img.regions.size(), img.fds.size());
  }
  return 0;
}

int parse_and_run(int argc, char** argv) {
  Options options;
  CLI::App app{
      "Show what a crcore checkpoint image holds. The image is validated first; a damaged image "
      "is reported and cr_info exits 1.",
      "cr_info"};
  app.add_flag("--json", options.json, "Print JSON for tools (sizes in bytes)");
  app.add_flag("--regions", options.regions, "List every memory region");
  app.add_flag("--fds", options.fds, "List every file descriptor");
  app.add_flag("--resources", options.resources,
               "List every resource record (timers, affinity, fd details, topology, ...)");
  app.add_option("IMAGE", options.path, "The image file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!options.json && looks_like_scope_index(options.path)) {
    return show_scope_index(options.path);
  }
  return run(options);
}

}  // namespace
}  // namespace crcore::image

// A directory is a global MPI snapshot (ompi-checkpoint): crcore-snapshot-info (mpi_glue/, installed in
// libexec) summarises it. Returns only if that program cannot be run.
int run_snapshot_info(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    struct stat st {};
    if (argv[i][0] != '-' && stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      char self[4096] = {};
      ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
      std::string dir = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string("./cr_info");
      std::string helper = dir.substr(0, dir.rfind('/')) + "/" + CRCORE_BIN_TO_SNAPSHOT_INFO;
      argv[0] = helper.data();
      execv(helper.c_str(), argv);
      std::fprintf(stderr, "cr_info: %s is a directory; global snapshots need %s (crcore's MPI part): %s\n", argv[i],
                   helper.c_str(), std::strerror(errno));
      return 1;
    }
  }
  return -1;
}

int main(int argc, char** argv) {
  if (int status = run_snapshot_info(argc, argv); status >= 0) {
    return status;
  }
  try {
    return crcore::image::parse_and_run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cr_info: %s\n", e.what());
    return 1;
  }
}
