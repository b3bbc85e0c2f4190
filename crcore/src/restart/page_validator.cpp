// The page validator (see page_validator.h).
#include "restart/page_validator.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "common/usable_cpus.h"
#include "image/image_error.h"
#include "image/payload_check.h"
#include "image/scoped_fd.h"
#include "restart/image_chain.h"
#include "restart/restorer.h"

namespace crcore::restart {
namespace {

void check_image(const image::Image& img, unsigned threads) {
  image::ScopedFd fd(open(img.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw RestartError("cannot open " + img.path + " again: " + strerror(errno));
  }
  // The very file whose records were checked (as restart_extents.cpp asks of the files the stage reads).
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != img.file_size ||
      image::FileIdentity::of(st) != img.identity) {
    throw RestartError(img.path + " changed while cr_restart was reading it");
  }
  image::PayloadCheck payloads;
  for (const image::PagesRef& ref : img.pages) {
    // The checksum covers the PagesHeader, then the stored bytes; the header's two fields are the
    // reference's address and length, as read from the file.
    image::PagesHeader header{ref.address, ref.length};
    image::RecordAt at{ref.record_index, static_cast<uint16_t>(image::RecordKind::Pages),
                       ref.payload_offset - sizeof(image::RecordHeader)};
    payloads.add(at, header, ref.payload_offset + sizeof header, ref.stored_size - sizeof header, ref.payload_hash);
  }
  if (std::optional<image::RecordAt> bad = payloads.run(fd.get(), img.path, img.file_size, threads)) {
    throw image::image_error(img.path, *bad, "payload checksum mismatch");
  }
}

}  // namespace

void check_page_checksums(const ImageChain& chain, unsigned threads) {
  for (const image::Image& img : chain.images) {
    check_image(img, threads);
  }
}

PageValidator::PageValidator(const ImageChain& chain) {
  fflush(nullptr);  // nothing buffered is written twice
  pid_ = fork();
  if (pid_ < 0) {
    throw RestartError(std::string("cannot start the page validator: ") + strerror(errno));
  }
  if (pid_ == 0) {
    int status = 0;
    try {
      // One CPU is the stage's, which loads the pages meanwhile.
      check_page_checksums(chain, std::max(1u, static_cast<unsigned>(usable_cpus()) - 1));
    } catch (const std::exception& e) {
      fprintf(stderr, "cr_restart: %s\n", e.what());
      status = 1;
    }
    _exit(status);
  }
}

PageValidator::~PageValidator() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace crcore::restart
