// The page validator: a child of cr_restart that checks the checksum of every Pages payload of the image
// (and of each parent of an incremental chain) while the restart stage loads the pages, on the other CPUs.
// cr_restart loaded the images with ImageReader::load_without_page_checksums(), which checks everything
// else; the stage waits for the validator's exit status (its verdict) after the last page arrived and
// before any restored code runs or anything of the restore shows outside the new process (stage.cpp,
// wait_for_validator). docs/restart.md §1, "The page checksums, while the pages load".
#pragma once

#include <sys/types.h>

namespace crcore::restart {

struct ImageChain;

// Checks the checksum of every Pages payload of each image of the chain (what load_without_page_checksums
// skipped), on at most `threads` threads. Each file is opened again by its path and must still be the file
// loaded (Image::identity). Throws image::ImageError naming the file and the first damaged record, in the
// words of ImageReader::load(), or RestartError when a file cannot be opened or changed.
void check_page_checksums(const ImageChain& chain, unsigned threads);

class PageValidator {
 public:
  // Forks the validator, which runs check_page_checksums on all CPUs but one (the stage's), prints what
  // it finds as cr_restart does ("cr_restart: IMAGE: record N (Pages) at offset X: payload checksum
  // mismatch") and exits 0 (every payload intact) or 1. Fork it before any descriptor of the image is
  // prepared: it then holds none of the restored pipes or sockets. Throws RestartError if fork fails.
  explicit PageValidator(const ImageChain& chain);
  // Only when the restart failed before the stage (restore() threw): the validator is killed and reaped.
  // On success the stage waits for it (restore() never returns).
  ~PageValidator();
  PageValidator(const PageValidator&) = delete;
  PageValidator& operator=(const PageValidator&) = delete;

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace crcore::restart
