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
#include <optional>
#include <span>
#include <string>

#include "image/image.h"
#include "image/image_error.h"
#include "image/scoped_fd.h"
#include "image/validation_proof.h"

namespace crcore::image {

class ImageReader {
 public:
  using PagesFn = std::function<void(uint64_t address, std::span<const std::byte> bytes)>;

  // Opens the file (ImageError if it cannot).
  explicit ImageReader(std::string path);

  const std::string& path() const { return path_; }

  // Reads and validates the whole image; page contents are not kept (Image::pages says where they are).
  Image load();

  // The same, relying on an earlier full validation (validation_proof.h): when `proof` has an entry for
  // this very file (fstat of the open descriptor: device, inode, size, mtime, ctime) the Pages payloads
  // are neither read nor hashed; everything else is read and checked as load() does (headers, record
  // checksums and framing, order, counts, every record's contents, pages within their regions, the End
  // record). The image id and End record must be the entry's and the file unchanged at the end. Any
  // mismatch or problem: load() as above (Image::proof_mismatch says why; Image::pages_trusted is true
  // only when the proof was used). So a damaged file is refused exactly as without a proof, unless the
  // proof lies about the very file it names.
  Image load(const ValidationProof& proof);

  // Everything load() checks except the Pages payloads' checksums, which are neither read nor hashed
  // (exactly what load(proof) skips when the proof applies). The caller must check them itself before
  // any restored code runs: cr_restart does, in a child, while the stage loads the pages
  // (restart/page_validator.h). Image::pages lists every payload to check (PagesRef::payload_hash).
  Image load_without_page_checksums();

  // After a load() without a proof that succeeded: the entry stating that this file was fully validated,
  // or nullopt when the file changed while it was read, or its last change (ctime) is less than
  // kProofSettleNs older than the clock when the validation began (a later change could then leave the
  // timestamps as they are).
  const std::optional<ValidatedFile>& validated() const { return validated_; }

  // Calls fn with the contents of every Pages record of an image this reader loaded, in file order,
  // decompressing zstd records. A record may arrive in several consecutive pieces (address advances
  // by each piece's size). Each record's checksum is checked again as it streams: if the file changed
  // since load(), ImageError is thrown, possibly after some of that record's pieces were delivered.
  void for_each_pages(const Image& image, const PagesFn& fn) const;

 private:
  Image load_file(bool trust_pages);

  std::string path_;
  ScopedFd fd_;
  std::optional<ValidatedFile> validated_;
};

}  // namespace crcore::image
