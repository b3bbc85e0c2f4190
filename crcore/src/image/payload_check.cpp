#include "image/payload_check.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <span>
#include <thread>

#include "common/usable_cpus.h"
#include "image/checksum.h"
#include "image/file_stream.h"

namespace crcore::image {
void PayloadCheck::add(const RecordAt& at, const PagesHeader& pages, uint64_t offset, uint64_t length,
                       uint64_t expected) {
  jobs_.push_back({at, pages, offset, length, expected});
}

bool PayloadCheck::matches(const Job& job, int fd, const std::string& path, uint64_t file_size) const {
  PayloadHash hash;
  hash.update(&job.pages, sizeof job.pages);
  // A run of at least FileStream::kMapThreshold: one mapping of the file, or blocks read into its buffer
  // when it cannot be mapped (read errors are ImageErrors naming the file).
  FileStream stream(fd, path, file_size, job.offset);
  stream.consume(job.length, [&](std::span<const std::byte> piece) { hash.update(piece.data(), piece.size()); });
  return hash.digest() == job.expected;
}

std::optional<RecordAt> PayloadCheck::run(int fd, const std::string& path, uint64_t file_size,
                                          unsigned max_threads) const {
  unsigned threads = std::min<unsigned>({static_cast<unsigned>(usable_cpus()), kMaxThreads, std::max(1u, max_threads),
                                         static_cast<unsigned>(jobs_.size())});
  std::vector<char> good(jobs_.size(), 1);
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (size_t i = next++; i < jobs_.size(); i = next++) {
        good[i] = matches(jobs_[i], fd, path, file_size) ? 1 : 0;
      }
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) {
        error = std::current_exception();
      }
      next = jobs_.size();
    }
  };
  std::vector<std::jthread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
    helpers.emplace_back(work);
  }
  work();
  helpers.clear();  // joins
  if (error) {
    std::rethrow_exception(error);
  }
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (good[i] == 0) {
      return jobs_[i].at;
    }
  }
  return std::nullopt;
}

}  // namespace crcore::image
