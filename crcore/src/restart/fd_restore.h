// Recreating the image's descriptor table in cr_restart, before the stage.
#pragma once

#include <memory>
#include <vector>

#include "image/image.h"
#include "restart/restorer.h"

namespace crcore::restart {

class ResourceFds;

// Opens everything the descriptor table needs (throws RestartError naming the descriptor when
// something is missing) and returns the plan; install() then puts each at its number. Pipes and
// socketpairs are created anew, one per pipe or pair of the image, and their queues refilled.
class FdRestore {
 public:
  FdRestore(const image::Image& image, const RestartOptions& options);
  FdRestore(const FdRestore&) = delete;
  FdRestore& operator=(const FdRestore&) = delete;
  ~FdRestore();

  // Highest descriptor number the image uses (cr_restart keeps its own above it).
  int highest() const { return highest_; }
  // dup2()s every prepared descriptor to its number, sets flags, closes everything else below
  // `keep_from` that the image does not use. Cannot fail half-way for a reason found earlier.
  void install(int keep_from);

 private:
  struct Prepared {
    int target;
    int fd;  // an open descriptor above the image's range
    bool cloexec;
  };
  const image::Image& image_;
  std::unique_ptr<ResourceFds> resource_fds_;  // keeps FIFO holders open until install
  std::vector<Prepared> prepared_;
  int highest_ = 2;
};

}  // namespace crcore::restart
