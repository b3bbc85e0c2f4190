// The page feeder (see page_feeder.h).
#include "restart/page_feeder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include <algorithm>

#include "image/image_reader.h"
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

// The image with only its compressed Pages records, when the stage reads the others itself.
image::Image pages_to_send(const image::Image& img, bool compressed_only) {
  image::Image copy = img;
  if (compressed_only) {
    std::erase_if(copy.pages, [](const image::PagesRef& ref) { return (ref.flags & image::kRecordZstd) == 0; });
  }
  return copy;
}

}  // namespace

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
      auto send_piece = [&](uint64_t address, std::span<const std::byte> bytes) {
        uint64_t header[2] = {address, bytes.size()};
        send(p[1], header, sizeof header);
        send(p[1], bytes.data(), bytes.size());
      };
      if (chain == nullptr || chain->images.size() == 1) {
        image::ImageReader reader(img.path);
        reader.for_each_pages(pages_to_send(img, compressed_only), send_piece);
      } else {
        // Each image of the chain, oldest first, sends only the pages it provides.
        for (size_t k = chain->images.size(); k-- > 0;) {
          const auto& feed = chain->feed[k];
          if (feed.empty()) {
            continue;
          }
          image::ImageReader reader(chain->images[k].path);
          reader.for_each_pages(pages_to_send(chain->images[k], compressed_only),
                                [&](uint64_t address, std::span<const std::byte> bytes) {
                                  uint64_t end = address + bytes.size();
                                  auto it = std::upper_bound(
                                      feed.begin(), feed.end(), address,
                                      [](uint64_t a, const std::pair<uint64_t, uint64_t>& r) { return a < r.second; });
                                  for (; it != feed.end() && it->first < end; ++it) {
                                    uint64_t s = std::max(address, it->first), e = std::min(end, it->second);
                                    if (s < e) {
                                      send_piece(s, bytes.subspan(s - address, e - s));
                                    }
                                  }
                                });
        }
      }
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
