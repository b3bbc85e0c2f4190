// The page feeder (see page_feeder.h).
#include "restart/page_feeder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
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

// Sends the pages: records are decompressed (and their hashes checked) by up to kFeederThreads
// threads at once, each with its own descriptor of each image; a piece goes down the pipe whole
// under a lock (the stage takes pieces in any order). Of a chain, each image sends only the
// ranges it provides (chain.feed), which are disjoint.
void feed_pages(const ImageChain* chain, const image::Image& img, bool compressed_only, int pipe_fd) {
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
  std::mutex pipe_lock;
  auto send_piece = [&](uint64_t address, std::span<const std::byte> bytes) {
    std::lock_guard<std::mutex> hold(pipe_lock);
    uint64_t header[2] = {address, bytes.size()};
    send(pipe_fd, header, sizeof header);
    send(pipe_fd, bytes.data(), bytes.size());
  };
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
  pid_ = fork();
  if (pid_ < 0) {
    throw RestartError(std::string("cannot start the page feeder: ") + strerror(errno));
  }
  if (pid_ == 0) {
    close(read_fd_);
    int status = 0;
    try {
      feed_pages(chain, img, compressed_only, p[1]);
      uint64_t end[2] = {0, 0};
      send(p[1], end, sizeof end);
    } catch (const std::exception& e) {
      fprintf(stderr, "cr_restart: %s\n", e.what());
      status = 1;
    }
    _exit(status);
  }
  close(p[1]);
}

}  // namespace crcore::restart
