// The page feeder: a child of cr_restart that reads the image's pages (decompressing and
// checking each record again) and streams them to the restart stage through a pipe, so that
// the stage itself needs no libc, no zstd and no parser.
// Protocol on the pipe: {uint64 address, uint64 length} then length bytes; {0, 0} ends. Once the stage
// has mapped the regions it writes one byte to the start pipe; from then on the feeder writes pieces
// straight into the restored process (process_vm_writev) where the kernel lets it, and sends only the
// others down the pipe; it sends {0, 0} after its last piece either way. CRCORE_FEEDER_PIPE_ONLY=1: no
// start pipe, every piece down the page pipe (as before; for comparisons).
#pragma once

#include <sys/types.h>

#include "image/image.h"

namespace crcore::restart {

struct ImageChain;

class PageFeeder {
 public:
  // Forks the feeder. Its descriptors are moved to `floor` and above. compressed_only: it sends only
  // the zstd records' pages (the stage reads the others itself: restart_extents.h).
  PageFeeder(const image::Image& image, int floor, bool compressed_only = false);
  // The pages of a chain of incremental images: from each image, what chain.feed says it provides.
  PageFeeder(const ImageChain& chain, int floor, bool compressed_only = false);
  // Whether a feeder started with compressed_only would send anything: false when no image of the
  // chain (or `image`, without a chain) has a zstd Pages record. Then there is no need to start one.
  static bool has_compressed_pages(const ImageChain* chain, const image::Image& image);
  int read_fd() const { return read_fd_; }
  // Write end of the start pipe (the stage writes one byte once its regions are mapped; the feeder then
  // writes its pages straight into them), or -1: everything comes down the page pipe.
  int go_fd() const { return go_fd_; }
  pid_t pid() const { return pid_; }

 private:
  void start(const ImageChain* chain, const image::Image& image, int floor, bool compressed_only);
  int read_fd_ = -1;
  int go_fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace crcore::restart
