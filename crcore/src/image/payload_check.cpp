#include "image/payload_check.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "image/checksum.h"
#include "image/file_stream.h"

namespace crcore::image {
namespace {

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    return 1;
  }
  return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
}

}  // namespace

void PayloadCheck::add(const RecordAt& at, const PagesHeader& pages, uint64_t offset, uint64_t length,
                       uint64_t expected) {
  jobs_.push_back({at, pages, offset, length, expected});
}

bool PayloadCheck::matches(const Job& job, int fd, const std::string& path, uint64_t file_size) const {
  PayloadHash hash;
  hash.update(&job.pages, sizeof job.pages);
  MappedView view(fd, job.offset, job.length, file_size);
  if (view.valid()) {
    hash.update(view.bytes().data(), view.bytes().size());
    return hash.digest() == job.expected;
  }
  // Not mappable (no memory for the mapping?): read it in blocks instead.
  std::vector<std::byte> block(FileStream::kBlockSize);
  for (uint64_t done = 0; done < job.length;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(block.size(), job.length - done));
    ssize_t n = pread(fd, block.data(), want, static_cast<off_t>(job.offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      throw ImageError(fmt::format("{}: read error at offset {}: {}", path, job.offset + done,
                                   n == 0 ? "the file ended early" : std::strerror(errno)));
    }
    hash.update(block.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  return hash.digest() == job.expected;
}

std::optional<RecordAt> PayloadCheck::run(int fd, const std::string& path, uint64_t file_size) const {
  unsigned threads = std::min<unsigned>({usable_cpus(), kMaxThreads, static_cast<unsigned>(jobs_.size())});
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
