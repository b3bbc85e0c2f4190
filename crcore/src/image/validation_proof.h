// ValidationProof: a statement that image files were fully validated (ImageReader::load, every
// checksum) by an earlier reader, each bound to the exact file that was read, so that a later reader of
// the same file can skip hashing its pages (ImageReader::load(proof)).
//
// Made by ompi-restart after its check of a snapshot and handed to each rank's cr_restart (through the
// per-rank launcher): without it every image would be read and checksummed again by its rank. An entry
// names the file as fstat saw it during the validation (device, inode, size, mtime and ctime in ns) and
// the image itself (its image id and its End record's payload hash). A file changed or replaced since
// has another inode, size, mtime or ctime: the entry no longer applies and the reader validates fully.
//
// Not a security boundary: anyone can write a proof, as anyone can run their own restart with a
// patched reader; a wrong proof only harms the restart of whoever passes it. That is why it is an
// internal option of the rank launcher (cr_restart's --image-proof, hidden from --help), not a promise
// to users (docs/restart.md, "Validation proofs").
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crcore::image {

// A file as fstat(2) saw it: what changes when the file is written, truncated, replaced or renamed over.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  static FileIdentity of(const struct stat& st);
  bool operator==(const FileIdentity&) const = default;
  // "dev 2049 inode 1234 size 5678 mtime ... ctime ..." for messages.
  std::string describe() const;
};

// One image file that was fully validated.
struct ValidatedFile {
  FileIdentity file;
  std::array<uint8_t, 16> image_id{};  // FileHeader.image_id
  uint64_t end_hash = 0;               // the End record's RecordHeader.payload_hash
  bool operator==(const ValidatedFile&) const = default;
};

// The minimum age of a file's last change (its ctime) for a proof to be made for it: timestamps are
// cut to the file system's granularity (up to 2 s: FAT), so a change within the same granule as the
// last one could leave mtime and ctime as they were. Once the ctime is that much older than the clock,
// any later change shows.
constexpr int64_t kProofSettleNs = 2'000'000'000;

using ValidationProof = std::vector<ValidatedFile>;

// Text form: entries separated by ',', each
// "DEV:INO:SIZE:MTIME_NS:CTIME_NS:IMAGE_ID(32 hex digits):END_HASH(16 hex digits)" (decimal numbers).
std::string encode_proof(const ValidationProof& proof);
// nullopt when the text is not a well-formed proof (an empty text is an empty proof).
std::optional<ValidationProof> parse_proof(std::string_view text);

}  // namespace crcore::image
