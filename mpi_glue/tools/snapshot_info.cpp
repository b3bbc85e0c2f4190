// crcore-snapshot-info [--json] SNAPSHOT_DIR: what `cr_info SNAPSHOT_DIR` prints (cr_info execs this program
// for a directory). The job (size, command, mpirun, MPI library, time) and each rank (pid, host, image, its
// threads and memory, or what is wrong with it). Exit status 1 if the snapshot is incomplete or an image is
// damaged.
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/image_error.h"
#include "image/image_reader.h"
#include "snapshot/snapshot_metadata.h"

namespace {

using json = nlohmann::ordered_json;

struct RankInfo {
  std::string problem;  // "" if the image is valid
  size_t threads = 0;
  uint64_t saved = 0;
  std::string exe;
};

RankInfo inspect(const std::string& dir, const crcore::mpi::RankEntry& e) {
  RankInfo info;
  std::string path = dir + "/" + e.image;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    info.problem = "missing";
    return info;
  }
  if (static_cast<uint64_t>(st.st_size) != e.image_bytes) {
    info.problem = fmt::format("{} bytes, {} written", st.st_size, e.image_bytes);
    return info;
  }
  try {
    crcore::image::ImageReader reader(path);
    crcore::image::Image image = reader.load();
    info.threads = image.threads.size();
    for (const auto& region : image.regions) {
      info.saved += region.record.pages_saved * 4096;
    }
    info.exe = image.exe;
  } catch (const crcore::image::ImageError& err) {
    info.problem = err.what();
  }
  return info;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    out += (out.empty() ? "" : " ") + p;
  }
  return out;
}

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / 1048576.0); }

}  // namespace

int main(int argc, char** argv) {
  bool as_json = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      as_json = true;
    } else if (dir.empty() && !a.empty() && a[0] != '-') {
      dir = a;
    } else {
      std::fprintf(stderr, "cr_info: usage: cr_info [--json] SNAPSHOT_DIR (unknown or extra argument '%s')\n",
                   a.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "cr_info: usage: cr_info [--json] SNAPSHOT_DIR\n");
    return 2;
  }
  crcore::mpi::SnapshotMetadata m;
  try {
    m = crcore::mpi::read_metadata(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cr_info: %s\n", e.what());
    return 1;
  }
  std::vector<RankInfo> infos;
  bool all_valid = true;
  uint64_t total = 0;
  for (const auto& r : m.ranks) {
    infos.push_back(inspect(dir, r));
    all_valid = all_valid && infos.back().problem.empty();
    total += r.image_bytes;
  }
  if (as_json) {
    json ranks = json::array();
    for (size_t i = 0; i < m.ranks.size(); ++i) {
      const auto& r = m.ranks[i];
      ranks.push_back({{"rank", r.rank},
                       {"pid", r.pid},
                       {"host", r.host},
                       {"image", r.image},
                       {"image_bytes", r.image_bytes},
                       {"valid", infos[i].problem.empty()},
                       {"problem", infos[i].problem},
                       {"threads", infos[i].threads},
                       {"memory_saved", infos[i].saved}});
    }
    json out = {{"snapshot", dir},
                {"complete", all_valid},
                {"size", m.size},
                {"command", m.command},
                {"cwd", m.cwd},
                {"mpirun_pid", m.mpirun_pid},
                {"mpirun_command", m.mpirun_command},
                {"mpi", {{"library", m.mpi_library}, {"version", m.mpi_version}, {"path", m.mpi_library_path}}},
                {"taken", m.taken},
                {"checkpoint_seconds", m.checkpoint_seconds},
                {"total_bytes", total},
                {"ranks", ranks}};
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    fmt::print("snapshot     {}: MPI job of {} ranks, {} in {} images, {}\n", dir, m.size, mib(total), m.ranks.size(),
               all_valid ? "complete" : "DAMAGED");
    fmt::print("command      {}\n", join(m.command));
    fmt::print("cwd          {}\n", m.cwd);
    fmt::print("mpirun       pid {}: {}\n", m.mpirun_pid, join(m.mpirun_command));
    fmt::print("MPI          {} {}{}\n", m.mpi_library, m.mpi_version,
               m.mpi_library_path.empty() ? "" : " (" + m.mpi_library_path + ")");
    fmt::print("taken        {} (checkpoint took {:.3f} s)\n", m.taken, m.checkpoint_seconds);
    fmt::print("ranks\n  {:<5} {:<8} {:<16} {:<14} {:>11} {:>8} {:>11}  {}\n", "RANK", "PID", "HOST", "IMAGE", "SIZE",
               "THREADS", "SAVED", "STATE");
    for (size_t i = 0; i < m.ranks.size(); ++i) {
      const auto& r = m.ranks[i];
      const RankInfo& info = infos[i];
      fmt::print("  {:<5} {:<8} {:<16} {:<14} {:>11} {:>8} {:>11}  {}\n", r.rank, r.pid, r.host, r.image,
                 mib(r.image_bytes), info.threads, mib(info.saved), info.problem.empty() ? "valid" : info.problem);
    }
  }
  return all_valid ? 0 : 1;
}
