// FileStream: reads a file front to back in large blocks with pread(2), for the image reader.
// Never reads more than the caller asks for into its own memory: consume() hands out views of the
// block buffer so that gigabytes of pages can be hashed without being held.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace crcore::image {

// A read-only, populated mapping of part of a file, unmapped when it goes out of scope; invalid when
// the file cannot be mapped (a pipe, a file shorter than the range, no memory).
class MappedView {
 public:
  MappedView(int fd, uint64_t offset, uint64_t length, uint64_t file_size);
  ~MappedView();
  MappedView(const MappedView&) = delete;
  MappedView& operator=(const MappedView&) = delete;
  bool valid() const { return base_ != nullptr; }
  std::span<const std::byte> bytes() const { return {base_ + lead_, length_}; }

 private:
  std::byte* base_ = nullptr;
  size_t lead_ = 0;  // bytes before offset in the first mapped page
  size_t length_ = 0;
};

class FileStream {
 public:
  // Small enough that a block read ahead of a long run the caller skips (PayloadCheck) costs little.
  static constexpr size_t kBlockSize = 256u << 10;
  static constexpr uint64_t kMapThreshold = 1u << 20;

  // Throws ImageError naming `path` on read errors; the buffer is min(kBlockSize, file_size).
  FileStream(int fd, const std::string& path, uint64_t file_size, uint64_t start = 0);

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return file_size_ - offset_; }
  void seek(uint64_t offset);

  // Copies the next n bytes (n <= remaining(), checked by the caller).
  void read(void* destination, size_t n);

  // Hands the next n bytes (n <= remaining()) to fn as one or more consecutive views. Past what is
  // buffered, a long run (at least kMapThreshold) is one view of a read-only mapping of the file when
  // it can be mapped: no copy through the buffer (the pages of a large image).
  template <typename Fn>
  void consume(uint64_t n, Fn&& fn) {
    if (n >= kMapThreshold) {
      size_t buffered = static_cast<size_t>(std::min<uint64_t>(n, end_ - begin_));
      if (buffered > 0 && n - buffered >= kMapThreshold) {
        fn(std::span<const std::byte>(buffer_.data() + begin_, buffered));
        begin_ += buffered;
        offset_ += buffered;
        n -= buffered;
      }
      if (begin_ == end_) {
        MappedView view(fd_, offset_, n, file_size_);
        if (view.valid()) {
          fn(view.bytes());
          offset_ += n;
          begin_ = end_ = 0;  // the buffer held bytes before the view: nothing of it is ahead
          return;
        }
      }
    }
    while (n > 0) {
      if (begin_ == end_) {
        fill();
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, end_ - begin_));
      fn(std::span<const std::byte>(buffer_.data() + begin_, take));
      begin_ += take;
      offset_ += take;
      n -= take;
    }
  }

 private:
  void fill();

  int fd_;
  const std::string& path_;
  uint64_t file_size_;
  uint64_t offset_;
  std::vector<std::byte> buffer_;
  size_t begin_ = 0;  // unread bytes of the buffer are [begin_, end_)
  size_t end_ = 0;
};

}  // namespace crcore::image
