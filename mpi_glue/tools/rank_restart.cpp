// crcore-mpi-rank-restart SNAPSHOT_DIR: one rank of a job that ompi-restart started. Reads this rank's
// number (OMPI_COMM_WORLD_RANK, set by mpirun), finds its image in the snapshot's metadata.json and execs
// `cr_restart IMAGE`, which becomes the checkpointed rank (its environment: this new job's). With
// ompi-restart's validation proof of the image (CRCORE_MPI_IMAGE_PROOFS), cr_restart gets it as its
// internal --image-proof option and does not checksum the image's pages again.
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "proc/proc_info.h"
#include "snapshot/snapshot_metadata.h"

namespace {

// With CRCORE_MPI_TIMING=1 or =FILE (ompi-restart passes it on), the wall-clock time in ns is left in NAME for the
// restarted rank's timing line (plugin/src/upper/restart_timing.h).
void stamp(const char* name) {
  const char* on = std::getenv("CRCORE_MPI_TIMING");
  if (on == nullptr || (std::strcmp(on, "1") != 0 && on[0] != '/')) {
    return;
  }
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  setenv(name, std::to_string(static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec).c_str(), 1);
}

int fail(const std::string& rank, const std::string& message) {
  std::fprintf(stderr, "crcore-mpi-rank-restart (rank %s): %s\n", rank.c_str(), message.c_str());
  return 1;
}

// The rank-th entry of a ';'-separated list ("" when the list is absent or shorter).
std::string rank_proof(const char* list, int rank) {
  if (list == nullptr || rank < 0) {
    return "";
  }
  std::string_view rest(list);
  for (int i = 0; i < rank; ++i) {
    size_t semicolon = rest.find(';');
    if (semicolon == std::string_view::npos) {
      return "";
    }
    rest.remove_prefix(semicolon + 1);
  }
  return std::string(rest.substr(0, rest.find(';')));
}

}  // namespace

int main(int argc, char** argv) {
  stamp("CRCORE_MPI_TIMING_RANK_NS");
  const char* rank_text = std::getenv("OMPI_COMM_WORLD_RANK");
  const char* size_text = std::getenv("OMPI_COMM_WORLD_SIZE");
  std::string who = rank_text != nullptr ? rank_text : "?";
  if (argc != 2) {
    return fail(who, "usage: crcore-mpi-rank-restart SNAPSHOT_DIR (started by ompi-restart through mpirun)");
  }
  if (rank_text == nullptr || size_text == nullptr) {
    return fail(who, "OMPI_COMM_WORLD_RANK/SIZE are not set: this program is started by ompi-restart's mpirun");
  }
  try {
    crcore::mpi::SnapshotMetadata meta = crcore::mpi::read_metadata(argv[1]);
    int rank = std::stoi(rank_text);
    int size = std::stoi(size_text);
    if (size != meta.size) {
      return fail(who, "this job has " + std::to_string(size) + " ranks, the snapshot " + std::to_string(meta.size));
    }
    const crcore::mpi::RankEntry& entry = meta.ranks.at(static_cast<size_t>(rank));
    std::string image = std::string(argv[1]) + "/" + entry.image;
    std::string cr_restart = crcore::mpi::beside_self(CRCORE_LAUNCHER_TO_BIN "/cr_restart");
    if (cr_restart.empty()) {
      return fail(
          who, std::string("cr_restart is not installed at ") + crcore::mpi::self_dir() + "/" + CRCORE_LAUNCHER_TO_BIN);
    }
    // ompi-restart's validation proof of this rank's image (the rank-th of its list): cr_restart then skips
    // the page checksums if, and only if, the image is still the very file ompi-restart checked. Not passed
    // on to the restored rank.
    std::string proof = rank_proof(std::getenv("CRCORE_MPI_IMAGE_PROOFS"), rank);
    unsetenv("CRCORE_MPI_IMAGE_PROOFS");
    std::string proof_flag = "--image-proof=" + proof;
    std::vector<char*> args{cr_restart.data()};
    if (!proof.empty()) {
      args.push_back(proof_flag.data());
    }
    args.push_back(image.data());
    args.push_back(nullptr);
    stamp("CRCORE_MPI_TIMING_EXEC_NS");
    execv(cr_restart.c_str(), args.data());
    return fail(who, "cannot run " + cr_restart + ": " + std::strerror(errno));
  } catch (const std::exception& e) {
    return fail(who, e.what());
  }
}
