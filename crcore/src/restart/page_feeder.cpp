// The page feeder (see page_feeder.h).
#include "restart/page_feeder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "image/image_reader.h"
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

}  // namespace

PageFeeder::PageFeeder(const image::Image& img, int floor) {
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
      image::ImageReader reader(img.path);
      reader.for_each_pages(img, [&](uint64_t address, std::span<const std::byte> bytes) {
        uint64_t header[2] = {address, bytes.size()};
        send(p[1], header, sizeof header);
        send(p[1], bytes.data(), bytes.size());
      });
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
