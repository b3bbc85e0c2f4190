#include "image/file_stream.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "image/image_error.h"

namespace crcore::image {

MappedView::MappedView(int fd, uint64_t offset, uint64_t length, uint64_t file_size) {
  // Only a regular file that is still as long as the caller believes: a mapping read past the end
  // of a file raises SIGBUS, where a read reports a truncated image.
  struct stat st;
  if (length == 0 || offset + length > file_size || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) < offset + length) {
    return;
  }
  uint64_t start = offset & ~uint64_t{4095};
  size_t span = static_cast<size_t>(offset + length - start);
  void* base = mmap(nullptr, span, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, static_cast<off_t>(start));
  if (base == MAP_FAILED) {
    return;
  }
  base_ = static_cast<std::byte*>(base);
  lead_ = static_cast<size_t>(offset - start);
  length_ = static_cast<size_t>(length);
}

MappedView::~MappedView() {
  if (base_ != nullptr) {
    munmap(base_, lead_ + length_);
  }
}

FileStream::FileStream(int fd, const std::string& path, uint64_t file_size, uint64_t start)
    : fd_(fd), path_(path), file_size_(file_size), offset_(start) {
  buffer_.resize(static_cast<size_t>(std::clamp<uint64_t>(file_size, 1, kBlockSize)));
}

void FileStream::seek(uint64_t offset) {
  // Keep the buffer when the target is inside it (records are visited in file order).
  uint64_t buffered_start = offset_ - begin_;
  uint64_t buffered_end = buffered_start + end_;
  if (offset >= buffered_start && offset <= buffered_end) {
    begin_ = static_cast<size_t>(offset - buffered_start);
  } else {
    begin_ = end_ = 0;
  }
  offset_ = offset;
}

void FileStream::read(void* destination, size_t n) {
  auto* out = static_cast<std::byte*>(destination);
  consume(n, [&](std::span<const std::byte> piece) {
    std::memcpy(out, piece.data(), piece.size());
    out += piece.size();
  });
}

void FileStream::fill() {
  size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), file_size_ - offset_));
  if (want == 0) {
    throw ImageError(fmt::format("{}: truncated: read past the end of the file at offset {}", path_, offset_));
  }
  for (;;) {
    ssize_t n = pread(fd_, buffer_.data(), want, static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw ImageError(fmt::format("{}: read error at offset {}: {}", path_, offset_, std::strerror(errno)));
    }
    if (n == 0) {
      throw ImageError(fmt::format("{}: truncated: the file ended at offset {} while being read", path_, offset_));
    }
    begin_ = 0;
    end_ = static_cast<size_t>(n);
    return;
  }
}

}  // namespace crcore::image
