// ompi-checkpoint [--term] [--time S] [--dir DIR] MPIRUN_PID: a global snapshot of an MPI job.
//
// Finds the job's ranks (proc/job_ranks.h), asks every rank for its crcore checkpoint at once (one
// `cr_checkpoint --file IMAGE PID` per rank, run in parallel: the ranks' phase-1 callbacks wait for each
// other), and commits the snapshot directory: the images and metadata.json are written into a hidden
// `.NAME.partial-PID` directory, metadata.json last (it marks completion), everything fsynced, then the
// directory is renamed to DIR/ompi_global_snapshot_<MPIRUN_PID>.<N>.ckpt (N: the first unused number).
// Prints that path on stdout. On any failure nothing is renamed, the partial directory is removed, and
// every rank's outcome is reported. --term ends the job (SIGTERM to mpirun) once the snapshot is complete.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "proc/job_ranks.h"
#include "proc/proc_info.h"
#include "snapshot/snapshot_metadata.h"

namespace {

namespace fs = std::filesystem;
using crcore::mpi::Job;
using crcore::mpi::JobRank;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }  // async-signal-safe: sets a flag only

struct Options {
  int pid = 0;
  bool term = false;
  double time = 0;
  std::string dir = ".";
};

struct RankJob {
  JobRank rank;
  std::string image;  // file name
  std::string log;    // cr_checkpoint's output
  pid_t child = -1;
  int status = -1;  // wait status, -1 while running
};

int fail(const std::string& message) {
  std::fprintf(stderr, "ompi-checkpoint: %s\n", message.c_str());
  return 1;
}

void fsync_path(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

pid_t spawn_checkpoint(const std::string& tool, const Options& o, const std::string& image, int pid,
                       const std::string& log) {
  std::vector<std::string> args{tool, "--file", image};
  if (o.time > 0) {
    std::ostringstream t;
    t << o.time;
    args.insert(args.end(), {"--time", t.str()});
  }
  args.push_back(std::to_string(pid));
  pid_t child = fork();
  if (child == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execv(tool.c_str(), argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", tool.c_str(), std::strerror(errno));
    _exit(127);
  }
  return child;
}

std::string describe(int status) {
  if (WIFEXITED(status)) {
    return "exit status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

// Waits for every child; once one has failed (or on a signal), gives the others `grace` seconds and then
// ends them. Returns true if all succeeded.
bool wait_all(std::vector<RankJob>& jobs, double grace) {
  size_t running = jobs.size();
  bool failed = false;
  Clock::time_point give_up{};
  while (running > 0) {
    int status = 0;
    pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (RankJob& j : jobs) {
        if (j.child == done) {
          j.status = status;
          --running;
          if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed = true;
          }
        }
      }
      continue;
    }
    if ((failed || g_interrupted) && give_up == Clock::time_point{}) {
      give_up = Clock::now() + std::chrono::milliseconds(g_interrupted ? 0 : static_cast<int>(grace * 1000));
    }
    if (give_up != Clock::time_point{} && Clock::now() >= give_up) {
      for (RankJob& j : jobs) {
        if (j.status == -1) {
          kill(j.child, SIGTERM);
        }
      }
      give_up = Clock::now() + std::chrono::hours(1);  // sent once; now wait for them
    }
    usleep(5000);
  }
  return !failed && !g_interrupted;
}

std::string iso_utc(std::time_t t) {
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ("Open MPI", "4.1.4") from `mpirun --version` of the job's own mpirun.
std::pair<std::string, std::string> mpi_version(int mpirun_pid) {
  std::string exe = crcore::mpi::proc_link(mpirun_pid, "exe");
  auto out = exe.empty() ? std::nullopt : crcore::mpi::capture_output({exe, "--version"});
  if (out) {
    std::smatch m;
    if (std::regex_search(*out, m, std::regex(R"(\((Open MPI|OpenRTE)\) ([0-9][^\s]*))"))) {
      return {"Open MPI", m[2]};
    }
  }
  return {"unknown", "unknown"};
}

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

int run(const Options& o) {
  std::string tool = crcore::mpi::beside_self("cr_checkpoint");
  if (tool.empty()) {
    return fail("cr_checkpoint is not installed next to ompi-checkpoint (" + crcore::mpi::self_dir() + ")");
  }
  Job job;
  try {
    job = crcore::mpi::find_job_ranks(o.pid);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  std::error_code ec;
  std::string dir = fs::absolute(o.dir, ec).lexically_normal().string();
  if (!fs::is_directory(dir, ec)) {
    return fail("--dir " + o.dir + " is not a directory");
  }
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  std::string base = "ompi_global_snapshot_" + std::to_string(o.pid);
  int seq = 0;
  while (fs::exists(dir + "/" + base + "." + std::to_string(seq) + ".ckpt", ec)) {
    ++seq;
  }
  std::string partial = dir + "/." + base + "." + std::to_string(seq) + ".ckpt.partial-" + std::to_string(getpid());
  if (mkdir(partial.c_str(), 0700) != 0) {
    return fail("cannot create " + partial + ": " + std::strerror(errno));
  }
  auto cleanup = [&] { fs::remove_all(partial, ec); };

  crcore::mpi::SnapshotMetadata meta;
  meta.size = job.size;
  meta.mpirun_pid = o.pid;
  meta.mpirun_command = crcore::mpi::proc_strings(o.pid, "cmdline");
  meta.command = job.ranks[0].cmdline;
  meta.cwd = crcore::mpi::proc_link(job.ranks[0].pid, "cwd");
  meta.mpi_library_path = crcore::mpi::mapped_library(job.ranks[0].pid, "libmpi.so");
  std::tie(meta.mpi_library, meta.mpi_version) = mpi_version(o.pid);

  std::vector<RankJob> jobs;
  for (const JobRank& r : job.ranks) {
    RankJob j{r, "rank." + std::to_string(r.rank) + ".ctx", partial + "/.rank." + std::to_string(r.rank) + ".log"};
    jobs.push_back(j);
  }
  std::time_t taken = std::time(nullptr);
  auto wall = std::chrono::system_clock::now();
  auto start = Clock::now();
  for (RankJob& j : jobs) {
    j.child = spawn_checkpoint(tool, o, partial + "/" + j.image, j.rank.pid, j.log);
    if (j.child < 0) {
      j.status = 127 << 8;
    }
  }
  bool ok = wait_all(jobs, 10.0);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!ok) {
    std::string report;
    for (const RankJob& j : jobs) {
      bool good = j.status != -1 && WIFEXITED(j.status) && WEXITSTATUS(j.status) == 0;
      std::string what = good ? "image written" : describe(j.status);
      std::string line = last_line(read_text(j.log));
      report += "\n  rank " + std::to_string(j.rank.rank) + " (pid " + std::to_string(j.rank.pid) + "): " + what +
                (good || line.empty() ? "" : ": " + line);
    }
    cleanup();
    char took[32];
    std::snprintf(took, sizeof took, "%.3f", seconds);
    return fail(std::string(g_interrupted ? "interrupted" : "the checkpoint failed") + " after " + took +
                " s; no snapshot was written (ranks that were checkpointed run on):" + report);
  }

  meta.taken = iso_utc(taken);
  meta.taken_unix_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count());
  meta.checkpoint_seconds = seconds;
  std::string host = hostname();
  for (const RankJob& j : jobs) {
    crcore::mpi::RankEntry e;
    e.rank = j.rank.rank;
    e.image = j.image;
    e.pid = j.rank.pid;
    e.host = host;
    e.image_bytes = fs::file_size(partial + "/" + j.image, ec);
    if (ec) {
      cleanup();
      return fail("rank " + std::to_string(e.rank) + "'s image is missing after its checkpoint: " + ec.message());
    }
    meta.ranks.push_back(e);
    fs::remove(j.log, ec);
  }
  // metadata.json last: written under a temporary name, flushed, renamed; then the directory.
  std::string tmp = partial + "/.metadata.json.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << crcore::mpi::to_json_text(meta);
    out.flush();
    if (!out) {
      cleanup();
      return fail("cannot write " + tmp + " (disk full?); no snapshot was written");
    }
  }
  fsync_path(tmp, O_RDONLY);
  if (rename(tmp.c_str(), (partial + "/" + crcore::mpi::kMetadataFile).c_str()) != 0) {
    int err = errno;
    cleanup();
    return fail("cannot rename " + tmp + ": " + std::strerror(err));
  }
  fsync_path(partial, O_RDONLY | O_DIRECTORY);
  std::string final_path;
  for (;; ++seq) {
    final_path = dir + "/" + base + "." + std::to_string(seq) + ".ckpt";
    if (renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) == 0) {
      break;
    }
    if (errno != EEXIST) {
      int err = errno;
      cleanup();
      return fail("cannot rename the snapshot to " + final_path + ": " + std::strerror(err));
    }
  }
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
  std::printf("%s\n", final_path.c_str());
  std::fflush(stdout);
  uint64_t bytes = 0;
  for (const auto& r : meta.ranks) {
    bytes += r.image_bytes;
  }
  std::fprintf(stderr, "ompi-checkpoint: %d ranks, %.1f MiB, %.3f s\n", meta.size,
               static_cast<double>(bytes) / 1048576.0, seconds);

  if (o.term) {
    kill(o.pid, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(30);
    bool gone = false;
    while (!gone && Clock::now() < deadline) {
      gone = true;
      for (const JobRank& r : job.ranks) {
        gone = gone && !crcore::mpi::process_alive(r.pid);
      }
      if (!gone) {
        usleep(20000);
      }
    }
    if (!gone) {
      std::fprintf(stderr,
                   "ompi-checkpoint: --term: the snapshot is complete, but some ranks of mpirun %d still "
                   "run 30 s after SIGTERM\n",
                   o.pid);
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Checkpoint every rank of an MPI job started with `mpirun -am ft-enable-cr` into one global "
      "snapshot directory, and print its path.",
      "ompi-checkpoint"};
  app.add_option("MPIRUN_PID", o.pid, "the pid of the job's mpirun")->required();
  app.add_flag("--term", o.term, "end the job once the snapshot is complete");
  app.add_option("--time", o.time, "give up after SECONDS (the job runs on; nothing is marked complete)")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", o.dir, "where the snapshot directory goes (default: the current directory)");
  CLI11_PARSE(app, argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  try {
    return run(o);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
