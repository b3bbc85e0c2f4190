// A preallocated zstd compression context, so that compressing needs no allocation later.
//
// Construct it in normal context (it maps memory); call compress() from anywhere, including
// async-signal-safe code such as the RecordWriter: compress() only computes into the workspace.
// When crcore is built without zstd (CRCORE_HAVE_ZSTD=0) the class exists and reports unavailable.
#pragma once

#include <cstddef>

namespace crcore::image {

class ZstdWorkspace {
 public:
  static constexpr int kDefaultLevel = 1;

  // Never throws: when the workspace cannot be made, available() is false and error() says why.
  explicit ZstdWorkspace(int level = kDefaultLevel) noexcept;
  ~ZstdWorkspace();
  ZstdWorkspace(const ZstdWorkspace&) = delete;
  ZstdWorkspace& operator=(const ZstdWorkspace&) = delete;

  bool available() const noexcept { return context_ != nullptr; }
  const char* error() const noexcept { return error_; }
  int level() const noexcept { return level_; }
  // The mapping that holds the workspace (a checkpointer may leave it out of an image).
  const void* memory() const noexcept { return memory_; }
  size_t memory_size() const noexcept { return memory_size_; }

  // Async-signal-safe. Compresses [src, src+size) into one zstd frame (content size recorded, no
  // zstd checksum) in [dst, dst+capacity). Returns the frame size, or 0 when the frame does not fit
  // in capacity, compression fails or the workspace is unavailable.
  size_t compress(void* dst, size_t capacity, const void* src, size_t size) noexcept;

 private:
  int level_;
  void* memory_ = nullptr;
  size_t memory_size_ = 0;
  void* context_ = nullptr;  // ZSTD_CCtx* placed inside memory_
  const char* error_ = nullptr;
};

}  // namespace crcore::image
