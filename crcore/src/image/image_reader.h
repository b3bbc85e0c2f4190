// ImageReader: opens an image, validates all of it, and streams its pages.
//
// load() reads the whole file once, in large blocks, and checks everything docs/image-format.md
// lists under "Validation" before it returns: cr_restart relies on it to refuse a damaged image
// before touching anything. Every problem is an ImageError whose message names the file, the record
// and what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "image/image.h"
#include "image/image_error.h"
#include "image/scoped_fd.h"

namespace crcore::image {

class ImageReader {
 public:
  using PagesFn = std::function<void(uint64_t address, std::span<const std::byte> bytes)>;

  // Opens the file (ImageError if it cannot).
  explicit ImageReader(std::string path);

  const std::string& path() const { return path_; }

  // Reads and validates the whole image; page contents are not kept (Image::pages says where they are).
  Image load();

  // Calls fn with the contents of every Pages record of an image this reader loaded, in file order,
  // decompressing zstd records. A record may arrive in several consecutive pieces (address advances
  // by each piece's size). Each record's checksum is checked again as it streams: if the file changed
  // since load(), ImageError is thrown, possibly after some of that record's pieces were delivered.
  void for_each_pages(const Image& image, const PagesFn& fn) const;

 private:
  std::string path_;
  ScopedFd fd_;
};

}  // namespace crcore::image
