// ImageError: what the image reader throws. The message names the file, the record and the problem,
// e.g. "image.ctx: record 7 (Thread) at offset 1234: payload checksum mismatch".
#pragma once

#include <stdexcept>

namespace crcore::image {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace crcore::image
