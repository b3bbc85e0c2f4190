// ompi-restart [--hostfile F] [-np N] [other mpirun options] SNAPSHOT_DIR: restarts an MPI job from the
// global snapshot ompi-checkpoint wrote.
//
// The snapshot is checked first (snapshot/snapshot_check.h: complete, every image present, of the size
// written and valid, the job size as asked); a bad one is refused before anything starts. Then this
// program becomes the real mpirun of a new job of the same size, each of whose ranks is the per-rank
// launcher (crcore-mpi-rank-restart), which execs `cr_restart` on that rank's image, with the proof
// that this check validated it (CRCORE_MPI_IMAGE_PROOFS), so that the image is not checksummed again. Options other
// than the snapshot pass on to mpirun unchanged (--hostfile, --oversubscribe, --allow-run-as-root, --mca ...).
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "proc/proc_info.h"
#include "snapshot/snapshot_check.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "ompi-restart: %s\n", message.c_str());
  return 1;
}

void usage(FILE* to) {
  std::fprintf(to,
               "Usage: ompi-restart [--hostfile FILE] [-np N] [other mpirun options] SNAPSHOT_DIR\n"
               "Restart an MPI job from the global snapshot directory ompi-checkpoint printed. The job runs with\n"
               "as many ranks as it had (-np, if given, must say the same). Other options go to mpirun.\n");
}

// The validation proofs of the ranks' images, for the per-rank launcher: one per rank in rank order,
// separated by ';' (an empty one: that rank validates its image fully).
constexpr const char* kProofVariable = "CRCORE_MPI_IMAGE_PROOFS";
// At about 130 bytes per rank, a job of up to about 500 ranks (an argument may not exceed 128 KiB).
constexpr size_t kMaxProofList = 64 * 1024;

bool is_np_option(const std::string& a) { return a == "-np" || a == "--np" || a == "-n" || a == "--n" || a == "-c"; }

}  // namespace

int main(int argc, char** argv) {
  timespec started{};
  clock_gettime(CLOCK_REALTIME, &started);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    usage(stdout);
    return 0;
  }
  std::string snapshot = args.back();
  args.pop_back();
  if (snapshot.empty() || snapshot[0] == '-') {
    usage(stderr);
    return fail("the last argument must be the snapshot directory (found '" + snapshot + "')");
  }
  int np = 0;
  std::vector<std::string> passthrough;
  for (size_t i = 0; i < args.size(); ++i) {
    if (is_np_option(args[i])) {
      if (i + 1 >= args.size()) {
        return fail(args[i] + " needs a number");
      }
      char* end = nullptr;
      long value = std::strtol(args[i + 1].c_str(), &end, 10);
      if (end == args[i + 1].c_str() || *end != '\0' || value < 1) {
        return fail(args[i] + " " + args[i + 1] + ": not a number of processes");
      }
      np = static_cast<int>(value);
      ++i;
      continue;
    }
    passthrough.push_back(args[i]);
  }

  std::error_code ec;
  std::string dir = std::filesystem::absolute(snapshot, ec).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  crcore::mpi::SnapshotMetadata meta;
  std::vector<std::string> proofs;
  try {
    meta = crcore::mpi::check_snapshot(dir, &proofs);
  } catch (const std::exception& e) {
    return fail(std::string(e.what()) + "\nnothing was started");
  }
  if (np != 0 && np != meta.size) {
    return fail("the snapshot " + dir + " is of a job of " + std::to_string(meta.size) + " ranks; it restarts with " +
                std::to_string(meta.size) + " (-np " + std::to_string(np) + " asked)\nnothing was started");
  }
  std::string launcher = crcore::mpi::beside_self(CRCORE_BIN_TO_RANK_LAUNCHER);
  if (launcher.empty()) {
    return fail(std::string("the per-rank launcher is not installed (") + crcore::mpi::self_dir() + "/" +
                CRCORE_BIN_TO_RANK_LAUNCHER + ")");
  }
  const char* chosen = std::getenv("CRCORE_REAL_MPIRUN");
  std::string mpirun = chosen != nullptr && *chosen != '\0' ? chosen : CRCORE_REAL_MPIRUN_DEFAULT;

  std::vector<std::string> command{mpirun};
  command.insert(command.end(), passthrough.begin(), passthrough.end());
  command.insert(command.end(), {"-np", std::to_string(meta.size), "-x", "CRCORE_MPI=1", "-x",
                                 "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536"});
  // Every image was just read and checksummed: each rank's cr_restart is told so, with a proof bound to
  // the file as it was checked, and skips hashing the pages again (docs/mpi.md, "Restart time"). A rank
  // whose image changed since validates it fully. Left out when too long for one argument.
  std::string proof_list;
  bool any_proof = false;
  for (size_t i = 0; i < proofs.size(); ++i) {
    proof_list += (i == 0 ? "" : ";") + proofs[i];
    any_proof = any_proof || !proofs[i].empty();
  }
  const char* full = std::getenv("CRCORE_MPI_FULL_VALIDATION");  // every rank validates again, as before
  bool proofs_wanted = full == nullptr || std::strcmp(full, "1") != 0;
  if (proofs_wanted && any_proof && proof_list.size() <= kMaxProofList) {
    command.insert(command.end(), {"-x", std::string(kProofVariable) + "=" + proof_list});
  }
  const char* timing = std::getenv("CRCORE_MPI_TIMING");
  if (timing != nullptr && (std::strcmp(timing, "1") == 0 || timing[0] == '/')) {
    // Each rank prints where its restart time went (docs/mpi.md, "Restart time"), from this start on.
    timespec checked{};
    clock_gettime(CLOCK_REALTIME, &checked);
    auto ns = [](const timespec& t) {
      return std::to_string(static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec);
    };
    command.insert(command.end(),
                   {"-x", std::string("CRCORE_MPI_TIMING=") + timing, "-x", "CRCORE_MPI_TIMING_JOB_NS=" + ns(started),
                    "-x", "CRCORE_MPI_TIMING_MPIRUN_NS=" + ns(checked)});
  }
  command.insert(command.end(), {launcher, dir});
  std::vector<char*> exec_args;
  std::string line;
  for (std::string& a : command) {
    exec_args.push_back(a.data());
    line += (line.empty() ? "" : " ") + a;
  }
  exec_args.push_back(nullptr);
  if (const char* verbose = std::getenv("CRCORE_MPIRUN_VERBOSE"); verbose != nullptr && *verbose == '1') {
    std::fprintf(stderr, "ompi-restart: exec %s\n", line.c_str());
  }
  execv(mpirun.c_str(), exec_args.data());
  return fail("cannot run " + mpirun + ": " + std::strerror(errno) + " (set CRCORE_REAL_MPIRUN)");
}
