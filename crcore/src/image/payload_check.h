// PayloadCheck: the checksums of a loaded image's large Pages records, computed on several threads
// once the reader has walked every record (ImageReader::load). The walk itself stays on one thread
// and in file order; only the hashing of long page runs, which is nearly all of a large image's
// validation, is spread over the CPUs the process may use (at most kMaxThreads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image/format.h"
#include "image/image_error.h"

namespace crcore::image {

class PayloadCheck {
 public:
  static constexpr unsigned kMaxThreads = 4;

  // A Pages record whose payload (after its PagesHeader) starts at `offset` in the file and is
  // `length` bytes long; its XXH3 covers the header, then the payload.
  void add(const RecordAt& at, const PagesHeader& pages, uint64_t offset, uint64_t length, uint64_t expected);
  size_t size() const { return jobs_.size(); }

  // Hashes every record added, on at most max_threads threads. The first (in file order) whose checksum
  // differs, or nullopt. Throws ImageError on a read error.
  std::optional<RecordAt> run(int fd, const std::string& path, uint64_t file_size,
                              unsigned max_threads = kMaxThreads) const;

 private:
  struct Job {
    RecordAt at;
    PagesHeader pages;
    uint64_t offset;
    uint64_t length;
    uint64_t expected;
  };
  bool matches(const Job& job, int fd, const std::string& path, uint64_t file_size) const;

  std::vector<Job> jobs_;
};

}  // namespace crcore::image
