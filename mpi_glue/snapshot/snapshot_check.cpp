// check_snapshot (see snapshot_check.h). The images are validated in parallel, a few at a time.
#include "snapshot/snapshot_check.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <vector>

#include "image/image_error.h"
#include "image/image_reader.h"
#include "image/validation_proof.h"

namespace crcore::mpi {
namespace {

// "" if the image of rank entry e in dir is fine, else what is wrong with it. proof: set to the validation
// proof of a fine image (or "").
std::string check_image_file(const std::string& dir, const RankEntry& e, std::string& proof) {
  std::string path = dir + "/" + e.image;
  std::string who = "rank " + std::to_string(e.rank) + "'s image " + path;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    return who + " is missing (" + std::strerror(errno) + ")";
  }
  if (!S_ISREG(st.st_mode)) {
    return who + " is not a regular file";
  }
  if (static_cast<uint64_t>(st.st_size) != e.image_bytes) {
    return who + " has " + std::to_string(st.st_size) + " bytes, " + std::to_string(e.image_bytes) +
           " were written (truncated or replaced)";
  }
  try {
    crcore::image::ImageReader reader(path);
    crcore::image::Image image = reader.load();
    if (e.pid > 0 && static_cast<int>(image.process.pid) != e.pid) {
      return who + " holds process " + std::to_string(image.process.pid) + ", not the rank's process " +
             std::to_string(e.pid);
    }
    if (image.file_size != e.image_bytes) {
      return who + " was replaced while it was checked";
    }
    if (reader.validated()) {
      proof = crcore::image::encode_proof({*reader.validated()});
    }
  } catch (const crcore::image::ImageError& err) {
    return who + " is damaged: " + err.what();
  }
  return "";
}

struct ImageCheck {
  std::string problem;  // "" if the image is fine
  std::string proof;    // its validation proof, "" if none could be made
};

// Whether the image of rank entry e in dir is fine, and its validation proof.
ImageCheck check_image(const std::string& dir, const RankEntry& e) {
  ImageCheck out;
  out.problem = check_image_file(dir, e, out.proof);
  return out;
}

}  // namespace

SnapshotMetadata check_snapshot(const std::string& dir, std::vector<std::string>* proofs) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    throw SnapshotError("no snapshot " + dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    throw SnapshotError(dir + " is not a snapshot directory (ompi-checkpoint prints the directory it wrote)");
  }
  SnapshotMetadata m = read_metadata(dir);
  std::vector<ImageCheck> checks(m.ranks.size());
  constexpr size_t kParallel = 4;
  for (size_t first = 0; first < m.ranks.size(); first += kParallel) {
    std::vector<std::future<ImageCheck>> batch;
    for (size_t i = first; i < std::min(first + kParallel, m.ranks.size()); ++i) {
      batch.push_back(std::async(std::launch::async, check_image, dir, m.ranks[i]));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      checks[first + i] = batch[i].get();
    }
  }
  std::string all;
  for (const ImageCheck& c : checks) {
    if (!c.problem.empty()) {
      all += "\n  " + c.problem;
    }
  }
  if (!all.empty()) {
    throw SnapshotError("the snapshot " + dir + " cannot be restarted:" + all);
  }
  if (proofs != nullptr) {
    proofs->clear();
    for (const ImageCheck& c : checks) {
      proofs->push_back(c.proof);
    }
  }
  return m;
}

}  // namespace crcore::mpi
