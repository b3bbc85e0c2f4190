// ImageError: what the image reader throws. The message names the file, the record and the problem,
// e.g. "image.ctx: record 7 (Thread) at offset 1234: payload checksum mismatch".
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace crcore::image {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Which record a message is about: its index (0 = the first after the file header), its raw kind
// and the file offset of its header.
struct RecordAt {
  uint64_t index;
  uint16_t kind;
  uint64_t offset;
};

// "record 7 (Thread) at offset 1234" (the kind is left out when this version does not know it).
std::string describe(const RecordAt& at);

// "PATH: message" and "PATH: record ...: message".
ImageError image_error(const std::string& path, std::string_view message);
ImageError image_error(const std::string& path, const RecordAt& at, std::string_view message);

}  // namespace crcore::image
