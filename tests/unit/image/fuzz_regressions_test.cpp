// Hostile images, and the regression tests of the image reader's fuzzing (docs/reliability.md).
//
// Each hostile image starts as a valid image written by the real RecordWriter; one field is then
// patched and the checksums of what was patched are recomputed, so that the reader must refuse the
// image for what it says (a semantic rule), not because a checksum no longer matches. Every refusal
// happens in load(), before cr_restart maps anything, and without allocating the absurd size.
//
// Every crash or sanitizer report the fuzzer (tests/fuzz/image_reader_fuzz.cpp, scripts/fuzz.sh)
// finds becomes a test at the end of this file: the input's bytes, and load() throwing ImageError.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "allocation_probe.h"
#include "image/checksum.h"
#include "image/image_reader.h"
#include "image/zstd_workspace.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

constexpr size_t kProbeLimit = 1u << 20;  // far below any absurd size, above the reader's buffers

template <typename T>
T get(const Bytes& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

template <typename T>
void put(Bytes& bytes, size_t offset, const T& value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// A valid image of small_spec() as the real writer lays it out (compressed when zstd is given).
Bytes written_image(ZstdWorkspace* zstd = nullptr) {
  TempDir dir;
  std::string path = dir.file("valid.ctx");
  EXPECT_EQ(write_image(small_spec(), path, zstd), 0);
  return read_file(path);
}

// The file offset of the header of the n-th record of this kind.
size_t find_record(const Bytes& bytes, RecordKind kind, size_t n = 0) {
  for (size_t offset = sizeof(FileHeader); offset + sizeof(RecordHeader) <= bytes.size();) {
    auto header = get<RecordHeader>(bytes, offset);
    if (header.kind == static_cast<uint16_t>(kind) && n-- == 0) {
      return offset;
    }
    offset += sizeof header + header.stored_size;
  }
  ADD_FAILURE() << "no such record in the image";
  return 0;
}

// The offset of the payload of the record at offset.
size_t payload_of(size_t record) { return record + sizeof(RecordHeader); }

// Recomputes the payload hash and the header check of the record at offset (as a writer would).
void reseal(Bytes& bytes, size_t record) {
  auto header = get<RecordHeader>(bytes, record);
  if (payload_of(record) + header.stored_size <= bytes.size()) {
    header.payload_hash = payload_hash(bytes.data() + payload_of(record), header.stored_size);
  }
  header.header_check = record_header_check(header);
  put(bytes, record, header);
}

// Changes a field of the record's payload (at offset `field` in its fixed struct) and reseals it.
template <typename T>
void patch_payload(Bytes& bytes, RecordKind kind, size_t n, size_t field, const T& value) {
  size_t record = find_record(bytes, kind, n);
  put(bytes, payload_of(record) + field, value);
  reseal(bytes, record);
}

// Changes the file header and recomputes its check.
template <typename Change>
void patch_header(Bytes& bytes, Change change) {
  auto header = get<FileHeader>(bytes, 0);
  change(header);
  header.header_check = file_header_check(header);
  put(bytes, 0, header);
}

// load()'s ImageError message ("" if the image loaded), watching the largest allocation.
std::string load_error(const Bytes& bytes, size_t* largest_allocation = nullptr) {
  TempDir dir;
  std::string path = dir.file("hostile.ctx");
  write_file(path, bytes);
  AllocationProbe probe;
  std::string error;
  try {
    ImageReader reader(path);
    reader.load();
  } catch (const ImageError& e) {
    error = e.what();
  }
  if (largest_allocation != nullptr) {
    *largest_allocation = probe.largest();
  }
  return error;
}

// Refused for `reason`, and not for a checksum.
void expect_refused(const Bytes& bytes, const std::string& reason) {
  size_t largest = 0;
  std::string error = load_error(bytes, &largest);
  ASSERT_NE(error, "") << "the reader accepted a hostile image (expected: " << reason << ")";
  EXPECT_NE(error.find(reason), std::string::npos) << "error: " << error;
  EXPECT_EQ(error.find("checksum"), std::string::npos) << "refused for a checksum, not the rule: " << error;
  EXPECT_LT(largest, kProbeLimit) << "error: " << error;
}

TEST(HostileImages, TheUnpatchedImagesLoad) {
  EXPECT_EQ(load_error(written_image()), "");
  ZstdWorkspace zstd;
  if (zstd.available()) {
    EXPECT_EQ(load_error(written_image(&zstd)), "");
  }
}

TEST(HostileImages, ARegionBeyondUserSpace) {
  // The last region (the stack) moved to [0x7ffffffff000, +4096): the top page, above user space.
  Bytes bytes = written_image();
  size_t stack = find_record(bytes, RecordKind::Region, 3);
  put(bytes, payload_of(stack) + offsetof(RegionRecord, start), kUserAddressLimit);
  put(bytes, payload_of(stack) + offsetof(RegionRecord, end), kUserAddressLimit + 4096);
  reseal(bytes, stack);
  expect_refused(bytes, "region 7ffffffff000-800000000000 is above the user address limit 7ffffffff000");
}

TEST(HostileImages, ARegionThatWrapsAround) {
  // end = 0: a region from the last page of the 64-bit space "to" address 0.
  Bytes bytes = written_image();
  size_t stack = find_record(bytes, RecordKind::Region, 3);
  put(bytes, payload_of(stack) + offsetof(RegionRecord, start), uint64_t{0xfffffffffffff000});
  put(bytes, payload_of(stack) + offsetof(RegionRecord, end), uint64_t{0});
  reseal(bytes, stack);
  expect_refused(bytes, "is empty or inverted");
}

TEST(HostileImages, OverlappingRegions) {
  // The heap starts inside the program's file mapping [0x400000, 0x402000).
  Bytes bytes = written_image();
  patch_payload(bytes, RecordKind::Region, 1, offsetof(RegionRecord, start), uint64_t{0x401000});
  expect_refused(bytes, "overlaps the previous region 400000-402000");
}

TEST(HostileImages, APagesRecordClaimingATerabyte) {
  // The PagesHeader says 2^40 bytes; the record itself holds one page.
  Bytes bytes = written_image();
  patch_payload(bytes, RecordKind::Pages, 0, offsetof(PagesHeader, length), uint64_t{1} << 40);
  expect_refused(bytes, "length 1099511627776 does not match raw_size 4112");
}

TEST(HostileImages, APagesRecordHeaderClaimingATerabyte) {
  // The record header says 2^40 bytes of pages (raw and stored): refused before any allocation.
  Bytes bytes = written_image();
  size_t pages = find_record(bytes, RecordKind::Pages);
  constexpr uint64_t kHuge = sizeof(PagesHeader) + (uint64_t{1} << 40);
  put(bytes, payload_of(pages) + offsetof(PagesHeader, length), uint64_t{1} << 40);
  put(bytes, pages + offsetof(RecordHeader, stored_size), kHuge);
  put(bytes, pages + offsetof(RecordHeader, raw_size), kHuge);
  reseal(bytes, pages);
  expect_refused(bytes, "payload of 1099511627792 bytes is above the limit");
}

TEST(HostileImages, ACompressedPagesRecordClaimingATerabyte) {
  // A zstd record whose frame would decompress to 2^40 bytes: refused on raw_size, never inflated.
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << "built without zstd";
  }
  Bytes bytes = written_image(&zstd);
  size_t pages = find_record(bytes, RecordKind::Pages, 1);  // the first compressible page
  ASSERT_NE(get<RecordHeader>(bytes, pages).flags & kRecordZstd, 0);
  put(bytes, payload_of(pages) + offsetof(PagesHeader, length), uint64_t{1} << 40);
  put(bytes, pages + offsetof(RecordHeader, raw_size), sizeof(PagesHeader) + (uint64_t{1} << 40));
  reseal(bytes, pages);
  expect_refused(bytes, "above the limit");
}

TEST(HostileImages, AnFdNumberOfTwoToTheThirty) {
  Bytes bytes = written_image();
  patch_payload(bytes, RecordKind::Fd, 0, offsetof(FdRecord, fd), int32_t{1} << 30);
  expect_refused(bytes, "fd 1073741824 is outside 0..1048575");
}

TEST(HostileImages, ANegativeFdNumber) {
  Bytes bytes = written_image();
  patch_payload(bytes, RecordKind::Fd, 0, offsetof(FdRecord, fd), int32_t{-1});
  expect_refused(bytes, "fd -1 is outside 0..1048575");
}

TEST(HostileImages, AbsurdCounts) {
  // 2^31 regions announced by the Process record: refused on the count, before any Region record.
  Bytes bytes = written_image();
  patch_payload(bytes, RecordKind::Process, 0, offsetof(ProcessRecord, region_count), uint32_t{1} << 31);
  expect_refused(bytes, "region_count 2147483648 is above the limit 65536");
}

TEST(HostileImages, AnotherArchitecture) {
  Bytes bytes = written_image();
  patch_header(bytes, [](FileHeader& h) { h.arch = 183; });  // EM_AARCH64
  expect_refused(bytes, "architecture 183 is not x86-64");
}

TEST(HostileImages, AnotherPageSize) {
  Bytes bytes = written_image();
  patch_header(bytes, [](FileHeader& h) { h.page_size = 65536; });
  expect_refused(bytes, "page size 65536 is not supported");
}

TEST(HostileImages, AnotherVersion) {
  for (uint32_t version : {kOldestImageVersion - 1, kImageVersion + 1, ~uint32_t{0}}) {
    Bytes bytes = written_image();
    patch_header(bytes, [&](FileHeader& h) { h.version = version; });
    expect_refused(bytes, "version " + std::to_string(version) + " is not supported");
  }
}

// ---- Fuzzer findings --------------------------------------------------------------------------
// None yet: scripts/fuzz.sh has found no crash, sanitizer report or other exception in the reader
// (runs in docs/reliability.md). Add each finding here as its bytes (a hex array: xxd -i of the crash
// file, or of its repaired form when the stack trace shows read_repaired, see docs/reliability.md),
// with a test that load() throws ImageError on it (load_error(bytes) is not "").

}  // namespace
}  // namespace crcore::image::testing
