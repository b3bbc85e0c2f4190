// Synthetic images for the image library's tests: a small valid image described field by field
// (ImageSpec), written either with the real RecordWriter or assembled record by record (so that a
// test can reorder, drop or forge records while keeping every checksum right).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "image/format.h"
#include "image/zstd_workspace.h"

namespace crcore::image::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its files at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

using Bytes = std::vector<std::byte>;

struct PagesSpec {
  uint64_t address;
  Bytes bytes;
};

// Everything in a synthetic image. finish() derives the counts, lengths and pages_saved.
struct ImageSpec {
  FileHeader header{};
  ProcessRecord process{};
  std::string cwd, exe, cmdline, environ_block, hostname, kernel;  // cmdline/environ_block: NUL-separated
  MmRecord mm{};
  SigActionsRecord sigactions{};
  RlimitsRecord rlimits{};
  std::vector<ThreadRecord> threads;
  std::vector<std::pair<RegionRecord, std::string>> regions;
  std::vector<std::pair<FdRecord, std::string>> fds;
  std::vector<std::pair<uint64_t, Bytes>> fd_data;  // inode, unread bytes
  std::vector<PagesSpec> pages;

  // Sets thread/region/fd counts, string and path lengths, and each region's pages_saved.
  void finish();
};

// A few KiB: 2 threads, 4 regions (file, heap, file-shared, stack), a pipe pair with buffered data,
// a stream socketpair (fds 5, 6: bytes queued at 6) and a dgram socketpair (fds 7, 8: three
// messages queued at 7), 3 Pages records (one of random bytes, two compressible), vdso/vvar recorded.
ImageSpec small_spec();

// An FdData payload of datagram messages: each an FdMessageHeader and its bytes.
Bytes framed_messages(const std::vector<std::string>& messages);

// One page (4096 bytes): random from seed, or a compressible pattern.
Bytes random_page(uint32_t seed);
Bytes pattern_page(uint8_t value);

// Writes spec with RecordWriter (compressing when zstd is given; long page records hashed by its
// second thread with hash_thread). 0 or the writer's -errno.
int write_image(const ImageSpec& spec, const std::string& path, ZstdWorkspace* zstd = nullptr);
// The same into an open descriptor (a pipe, a file at any position or opened O_APPEND), left open.
int write_image_to(const ImageSpec& spec, int fd, ZstdWorkspace* zstd = nullptr, bool hash_thread = false);

// Records as (kind, payload), exactly as the writer lays them out uncompressed, End excluded.
struct RawRecord {
  RecordKind kind;
  Bytes payload;
  uint16_t flags = 0;
};
std::vector<RawRecord> raw_records(const ImageSpec& spec);

// A file header with a correct header_check, then the records with correct framing and checksums,
// then (when add_end) an End record whose fields are right for what precedes it.
Bytes assemble(const FileHeader& header, const std::vector<RawRecord>& records, bool add_end = true);
FileHeader valid_header();
Bytes record_bytes(RecordKind kind, const Bytes& payload, uint16_t flags = 0);

template <typename T>
Bytes as_bytes(const T& value) {
  const auto* p = reinterpret_cast<const std::byte*>(&value);
  return Bytes(p, p + sizeof value);
}

Bytes read_file(const std::string& path);
void write_file(const std::string& path, const Bytes& bytes);

}  // namespace crcore::image::testing
