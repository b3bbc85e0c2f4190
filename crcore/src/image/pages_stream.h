// PagesStream: delivers the contents of a loaded image's Pages records, decompressing zstd records
// and checking every record's hash again as it goes (ImageReader::for_each_pages).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "image/file_stream.h"
#include "image/image.h"

namespace crcore::image {

class PagesStream {
 public:
  using PagesFn = std::function<void(uint64_t address, std::span<const std::byte> bytes)>;

  // path must outlive the PagesStream.
  PagesStream(int fd, const std::string& path, uint64_t file_size);
  ~PagesStream();
  PagesStream(const PagesStream&) = delete;
  PagesStream& operator=(const PagesStream&) = delete;

  // Calls fn with the record's bytes in one or more consecutive pieces; ImageError when the record
  // differs from what load() saw (its header, its hash, its zstd frame).
  void deliver(const PagesRef& ref, const PagesFn& fn);

 private:
  struct Decompressor;

  void deliver_raw(const PagesRef& ref, const PagesFn& fn);
  void deliver_zstd(const PagesRef& ref, const PagesFn& fn);

  const std::string& path_;
  FileStream stream_;
  std::unique_ptr<Decompressor> zstd_;  // made on the first compressed record, then reused
};

}  // namespace crcore::image
