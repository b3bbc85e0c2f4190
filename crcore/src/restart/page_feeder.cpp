// The page feeder (see page_feeder.h).
#include "restart/page_feeder.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "image/image_reader.h"
#include "image/pages_stream.h"
#include "image/scoped_fd.h"
#include "restart/image_chain.h"
#include "restart/restorer.h"

namespace crcore::restart {
namespace {

void send(int fd, const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      throw RestartError(std::string("the restart stage stopped reading: ") + strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// One Pages record to send: from image k of the chain (0 when there is no chain).
struct Work {
  size_t image;
  const image::PagesRef* ref;
};

// Where the pieces go. Straight into the restored process (process_vm_writev: the kernel allocates the
// pages and copies into them, on the feeder's threads, while the stage reads the uncompressed extents)
// once the stage has mapped its regions and written its start byte; down the pipe to the stage (a copy
// into the pipe and one out of it, on the stage's single thread) when the kernel refuses that (a ptrace
// policy: EPERM; ENOSYS) or the restorer gave no start pipe. Every piece must lie within a region of
// the image being restored, as the stage checks those it receives; the kernel refuses (EFAULT) a range
// the stage has not mapped writable.
class PieceSink {
 public:
  PieceSink(int pipe_fd, int go_fd, pid_t target, const std::vector<image::RegionEntry>& regions)
      : pipe_fd_(pipe_fd), go_fd_(go_fd), target_(target), regions_(regions), direct_(go_fd >= 0) {}

  void put(uint64_t address, std::span<const std::byte> bytes) {
    if (direct_.load(std::memory_order_relaxed)) {
      wait_for_start();
      if (write_direct(address, bytes)) {
        return;
      }
    }
    std::lock_guard<std::mutex> hold(pipe_lock_);
    uint64_t header[2] = {address, bytes.size()};
    send(pipe_fd_, header, sizeof header);
    send(pipe_fd_, bytes.data(), bytes.size());
  }

  // Pieces written directly so far, for the debug line.
  uint64_t direct_bytes() const { return direct_bytes_.load(); }

 private:
  // The stage's start byte, read once (the other threads wait for it here).
  void wait_for_start() {
    std::call_once(go_once_, [this] {
      char go = 0;
      ssize_t n;
      do {
        n = read(go_fd_, &go, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) {
        throw RestartError("the restart stage ended before it took the compressed pages");
      }
    });
  }

  bool inside_a_region(uint64_t address, uint64_t size) const {
    auto it = std::upper_bound(regions_.begin(), regions_.end(), address,
                               [](uint64_t a, const image::RegionEntry& r) { return a < r.record.end; });
    return it != regions_.end() && it->record.start <= address && address + size <= it->record.end;
  }

  // False when the kernel refuses to write into another process at all: then the pipe, for every piece.
  bool write_direct(uint64_t address, std::span<const std::byte> bytes) {
    if (!inside_a_region(address, bytes.size())) {
      throw RestartError("an image's pages at " + hex(address) + " lie outside every region");
    }
    size_t done = 0;
    while (done < bytes.size()) {
      iovec local{const_cast<std::byte*>(bytes.data() + done), bytes.size() - done};
      iovec remote{reinterpret_cast<void*>(address + done), bytes.size() - done};
      ssize_t n = process_vm_writev(target_, &local, 1, &remote, 1, 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && done == 0 && (errno == EPERM || errno == EACCES || errno == ENOSYS)) {
        direct_.store(false);
        return false;
      }
      if (n <= 0) {
        throw RestartError("cannot write the pages at " + hex(address + done) +
                           " into the restored process: " + (n < 0 ? strerror(errno) : "nothing written"));
      }
      done += static_cast<size_t>(n);
    }
    direct_bytes_ += bytes.size();
    return true;
  }

  int pipe_fd_;
  int go_fd_;
  pid_t target_;
  const std::vector<image::RegionEntry>& regions_;
  std::atomic<bool> direct_;
  std::once_flag go_once_;
  std::mutex pipe_lock_;
  std::atomic<uint64_t> direct_bytes_{0};
};

// Sends the pages: records are decompressed (and their hashes checked) by up to kFeederThreads
// threads at once, each with its own descriptor of each image; each piece goes to the sink (straight
// into the restored process, or down the pipe whole under a lock: the stage takes pieces in any order). Of a chain,
// each image sends only the ranges it provides (chain.feed), which are disjoint.
void feed_pages(const ImageChain* chain, const image::Image& img, bool compressed_only, PieceSink& sink) {
  constexpr unsigned kFeederThreads = 4;
  std::vector<const image::Image*> images;
  if (chain == nullptr || chain->images.size() == 1) {
    images.push_back(&img);
  } else {
    for (const auto& link : chain->images) {
      images.push_back(&link);
    }
  }
  std::vector<Work> work;
  for (size_t k = 0; k < images.size(); ++k) {
    if (images.size() > 1 && chain->feed[k].empty()) {
      continue;
    }
    for (const image::PagesRef& ref : images[k]->pages) {
      bool zero_fill = (ref.flags & image::kRecordZeroFill) != 0;
      bool compressed = (ref.flags & image::kRecordZstd) != 0;
      if (!zero_fill && (compressed || !compressed_only)) {
        work.push_back({k, &ref});
      }
    }
  }
  auto send_piece = [&](uint64_t address, std::span<const std::byte> bytes) { sink.put(address, bytes); };
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::string first_error;
  std::mutex error_lock;
  auto run = [&]() {
    std::vector<image::ScopedFd> fds(images.size());
    std::vector<std::unique_ptr<image::PagesStream>> streams(images.size());
    try {
      for (size_t i; !failed && (i = next.fetch_add(1)) < work.size();) {
        const Work& w = work[i];
        if (!streams[w.image]) {
          const image::Image& from = *images[w.image];
          fds[w.image].reset(open(from.path.c_str(), O_RDONLY | O_CLOEXEC));
          if (!fds[w.image].valid()) {
            throw RestartError("cannot open " + from.path + " again: " + strerror(errno));
          }
          streams[w.image] = std::make_unique<image::PagesStream>(fds[w.image].get(), from.path, from.file_size);
        }
        if (images.size() == 1) {
          streams[w.image]->deliver(*w.ref, send_piece);
          continue;
        }
        const auto& feed = chain->feed[w.image];
        streams[w.image]->deliver(*w.ref, [&](uint64_t address, std::span<const std::byte> bytes) {
          uint64_t end = address + bytes.size();
          auto it = std::upper_bound(feed.begin(), feed.end(), address,
                                     [](uint64_t a, const std::pair<uint64_t, uint64_t>& r) { return a < r.second; });
          for (; it != feed.end() && it->first < end; ++it) {
            uint64_t s = std::max(address, it->first), e = std::min(end, it->second);
            if (s < e) {
              send_piece(s, bytes.subspan(s - address, e - s));
            }
          }
        });
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> hold(error_lock);
      if (!failed.exchange(true)) {
        first_error = e.what();
      }
    }
  };
  unsigned threads = std::min<unsigned>({kFeederThreads, std::max(1u, std::thread::hardware_concurrency()),
                                         static_cast<unsigned>(std::max<size_t>(1, work.size()))});
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
    helpers.emplace_back(run);
  }
  run();
  for (auto& helper : helpers) {
    helper.join();
  }
  if (failed) {
    throw RestartError(first_error);
  }
}

}  // namespace

bool PageFeeder::has_compressed_pages(const ImageChain* chain, const image::Image& img) {
  auto any_in = [](const image::Image& i) {
    return std::any_of(i.pages.begin(), i.pages.end(), [](const image::PagesRef& ref) {
      return (ref.flags & image::kRecordZstd) != 0 && (ref.flags & image::kRecordZeroFill) == 0;
    });
  };
  if (chain == nullptr || chain->images.size() == 1) {
    return any_in(img);
  }
  for (size_t k = 0; k < chain->images.size(); ++k) {
    if (!chain->feed[k].empty() && any_in(chain->images[k])) {
      return true;
    }
  }
  return false;
}

PageFeeder::PageFeeder(const image::Image& img, int floor, bool compressed_only) {
  start(nullptr, img, floor, compressed_only);
}

PageFeeder::PageFeeder(const ImageChain& chain, int floor, bool compressed_only) {
  start(&chain, chain.images.at(0), floor, compressed_only);
}

void PageFeeder::start(const ImageChain* chain, const image::Image& img, int floor, bool compressed_only) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    throw RestartError(std::string("cannot create the page pipe: ") + strerror(errno));
  }
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  read_fd_ = fcntl(p[0], F_DUPFD_CLOEXEC, floor);
  close(p[0]);
  int go[2] = {-1, -1};
  if (getenv("CRCORE_FEEDER_PIPE_ONLY") == nullptr && pipe2(go, O_CLOEXEC) == 0) {
    go_fd_ = fcntl(go[1], F_DUPFD_CLOEXEC, floor);
    close(go[1]);
    if (go_fd_ < 0) {  // no start pipe after all: every piece down the page pipe
      close(go[0]);
      go[0] = -1;
    }
  }
  pid_t target = getpid();  // this process becomes the restored one
  pid_ = fork();
  if (pid_ < 0) {
    throw RestartError(std::string("cannot start the page feeder: ") + strerror(errno));
  }
  if (pid_ == 0) {
    close(read_fd_);
    if (go_fd_ >= 0) {
      close(go_fd_);
    }
    int status = 0;
    try {
      PieceSink sink(p[1], go[0], target, img.regions);
      feed_pages(chain, img, compressed_only, sink);
      uint64_t end[2] = {0, 0};
      send(p[1], end, sizeof end);
      if (getenv("CRCORE_FEEDER_DEBUG") != nullptr) {
        fprintf(stderr, "cr_restart: page feeder wrote %llu bytes directly\n",
                static_cast<unsigned long long>(sink.direct_bytes()));
      }
    } catch (const std::exception& e) {
      fprintf(stderr, "cr_restart: %s\n", e.what());
      status = 1;
    }
    _exit(status);
  }
  close(p[1]);
  if (go[0] >= 0) {
    close(go[0]);
  }
}

}  // namespace crcore::restart
