// Damage of every kind is detected by load(): every single-byte change, every truncation, wrong
// headers, absurd sizes (rejected before anything of that size is allocated).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "allocation_probe.h"
#include "image/checksum.h"
#include "image/image_reader.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

// load()'s message for bytes, or "" when it accepts them.
std::string load_error(const TempDir& dir, const Bytes& bytes) {
  std::string path = dir.file("probe.ctx");
  write_file(path, bytes);
  try {
    ImageReader reader(path);
    reader.load();
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

Bytes small_image(const TempDir& dir, ZstdWorkspace* zstd) {
  EXPECT_EQ(write_image(small_spec(), dir.file("small.ctx"), zstd), 0);
  return read_file(dir.file("small.ctx"));
}

// load()'s message for the file at path, or "" when it accepts it.
std::string load_error(const std::string& path) {
  try {
    ImageReader reader(path);
    reader.load();
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

// Changes the file in place (no truncate-and-rewrite, which some file systems flush to disk).
void patch(int fd, size_t offset, std::byte value) { ASSERT_EQ(pwrite(fd, &value, 1, static_cast<off_t>(offset)), 1); }

void expect_every_flip_detected(const Bytes& good, const TempDir& dir) {
  std::string path = dir.file("flip.ctx");
  write_file(path, good);
  ASSERT_EQ(load_error(path), "");
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  size_t undetected = 0;
  for (size_t offset = 0; offset < good.size() && undetected <= 10; ++offset) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      patch(fd, offset, good[offset] ^ static_cast<std::byte>(mask));
      if (load_error(path).empty()) {
        ADD_FAILURE() << "flipping " << int{mask} << " at offset " << offset << " was not detected";
        ++undetected;
      }
    }
    patch(fd, offset, good[offset]);
  }
  ::close(fd);
  EXPECT_EQ(load_error(path), "");
}

TEST(Corruption, EveryByteFlipIsDetected) {
  TempDir dir;
  Bytes good = small_image(dir, nullptr);
  EXPECT_LT(good.size(), 20u * 1024);  // 3 pages and the fixed records
  expect_every_flip_detected(good, dir);
}

TEST(Corruption, EveryByteFlipIsDetectedWithZstd) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  TempDir dir;
  Bytes good = small_image(dir, &zstd);
  expect_every_flip_detected(good, dir);
}

TEST(Corruption, EveryTruncationIsDetected) {
  TempDir dir;
  Bytes good = small_image(dir, nullptr);
  std::string path = dir.file("truncated.ctx");
  write_file(path, good);
  for (size_t length = good.size(); length-- > 0;) {
    ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(length)), 0);
    std::string error = load_error(path);
    ASSERT_NE(error, "") << "truncation to " << length << " bytes was not detected";
    if (length >= sizeof(FileHeader)) {
      EXPECT_NE(error.find("truncated"), std::string::npos) << error;
    }
  }
}

TEST(Corruption, TruncationAtARecordBoundarySaysNoEnd) {
  TempDir dir;
  ImageSpec spec = small_spec();
  Bytes bytes = assemble(spec.header, raw_records(spec), false);
  std::string error = load_error(dir, bytes);
  EXPECT_NE(error.find("truncated: no End record"), std::string::npos) << error;
}

TEST(Corruption, BytesAfterEndAreRejected) {
  TempDir dir;
  Bytes bytes = small_image(dir, nullptr);
  bytes.push_back(std::byte{0});
  EXPECT_NE(load_error(dir, bytes).find("1 bytes after the End record"), std::string::npos);
}

TEST(Corruption, PayloadChecksumMessageNamesTheRecord) {
  TempDir dir;
  ImageSpec spec = small_spec();
  Bytes bytes = assemble(spec.header, raw_records(spec));
  // The first Thread record: header, Process, Mm, SigActions, Rlimits come before it.
  size_t offset = sizeof(FileHeader);
  for (const RawRecord& r : raw_records(spec)) {
    if (r.kind == RecordKind::Thread) {
      break;
    }
    offset += sizeof(RecordHeader) + r.payload.size();
  }
  bytes[offset + sizeof(RecordHeader) + 8] ^= std::byte{1};
  std::string error = load_error(dir, bytes);
  EXPECT_NE(
      error.find("probe.ctx: record 4 (Thread) at offset " + std::to_string(offset) + ": payload checksum mismatch"),
      std::string::npos)
      << error;
}

// Long page runs (at least 1 MiB) are hashed on several threads after the walk (PayloadCheck): a
// damaged one is still named, the first in file order when several are.
TEST(Corruption, LongPagesRecordsAreCheckedInParallel) {
  TempDir dir;
  ImageSpec spec = small_spec();
  constexpr uint64_t kBase = 0x7f1000000000, kRun = 2u << 20;
  RegionRecord big{};
  big.start = kBase;
  big.end = kBase + 4 * kRun;
  big.kind = static_cast<uint32_t>(RegionKind::AnonPrivate);
  big.prot = kProtRead | kProtWrite;
  spec.regions.insert(spec.regions.end() - 1, {big, ""});  // before the stack
  for (uint64_t i = 0; i < 4; ++i) {
    Bytes run;
    for (uint64_t p = 0; p < kRun / 4096; ++p) {
      Bytes page = random_page(static_cast<uint32_t>(100 + i * 1000 + p));
      run.insert(run.end(), page.begin(), page.end());
    }
    spec.pages.push_back({kBase + i * kRun, run});
  }
  spec.finish();
  std::vector<RawRecord> records = raw_records(spec);
  Bytes good = assemble(spec.header, records);
  EXPECT_EQ(load_error(dir, good), "");
  // The offsets of the last two Pages records (the 3rd and 4th long runs).
  std::vector<size_t> offsets;
  std::vector<size_t> indexes;
  size_t offset = sizeof(FileHeader);
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].kind == RecordKind::Pages && records[i].payload.size() > kRun) {
      offsets.push_back(offset);
      indexes.push_back(i);
    }
    offset += sizeof(RecordHeader) + records[i].payload.size();
  }
  ASSERT_EQ(offsets.size(), 4u);
  Bytes bad = good;
  bad[offsets[3] + sizeof(RecordHeader) + sizeof(PagesHeader) + 12345] ^= std::byte{4};
  std::string error = load_error(dir, bad);
  EXPECT_NE(error.find("record " + std::to_string(indexes[3]) + " (Pages) at offset " + std::to_string(offsets[3]) +
                       ": payload checksum mismatch"),
            std::string::npos)
      << error;
  bad[offsets[2] + sizeof(RecordHeader) + 7] ^= std::byte{1};  // its PagesHeader: covered by the hash too
  error = load_error(dir, bad);
  EXPECT_NE(error.find("record " + std::to_string(indexes[2]) + " (Pages)"), std::string::npos) << error;
}

// A file changed after load(): for_each_pages notices while streaming.
void expect_change_caught(ZstdWorkspace* zstd, size_t page_index) {
  TempDir dir;
  std::string path = dir.file("changing.ctx");
  ASSERT_EQ(write_image(small_spec(), path, zstd), 0);
  ImageReader reader(path);
  Image image = reader.load();
  const PagesRef& ref = image.pages[page_index];
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  size_t offset = ref.payload_offset + ref.stored_size - 3;
  Bytes bytes = read_file(path);
  patch(fd, offset, bytes[offset] ^ std::byte{0x10});
  ::close(fd);
  try {
    reader.for_each_pages(image, [](uint64_t, std::span<const std::byte>) {});
    FAIL() << "the change was not caught";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("record " + std::to_string(ref.record_index) + " (Pages)"), std::string::npos)
        << e.what();
  }
}

TEST(Corruption, ChangeAfterLoadIsCaughtByForEachPages) { expect_change_caught(nullptr, 0); }

TEST(Corruption, ChangeAfterLoadIsCaughtInACompressedRecord) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  expect_change_caught(&zstd, 1);
}

TEST(Header, WrongMagic) {
  TempDir dir;
  Bytes bytes = small_image(dir, nullptr);
  bytes[0] = std::byte{'X'};
  EXPECT_NE(load_error(dir, bytes).find("not a crcore image (bad magic)"), std::string::npos);
  EXPECT_NE(load_error(dir, Bytes{std::byte{'#'}, std::byte{'!'}, std::byte{'/'}, std::byte{'b'}, std::byte{'i'},
                                  std::byte{'n'}, std::byte{'/'}, std::byte{'s'}, std::byte{'h'}})
                .find("bad magic"),
            std::string::npos);
}

TEST(Header, WrongVersion) {
  TempDir dir;
  ImageSpec spec = small_spec();
  for (uint32_t version : {1u, kImageVersion + 1}) {  // version 1: before socketpairs (80-byte FdRecord)
    spec.header.version = version;
    spec.header.header_check = file_header_check(spec.header);
    std::string error = load_error(dir, assemble(spec.header, raw_records(spec)));
    std::string expected = "version " + std::to_string(version) +
                           " is not supported (this crcore reads versions 2 to " + std::to_string(kImageVersion) + ")";
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

TEST(Header, WrongArch) {
  TempDir dir;
  ImageSpec spec = small_spec();
  spec.header.arch = 183;
  spec.header.header_check = file_header_check(spec.header);
  std::string error = load_error(dir, assemble(spec.header, raw_records(spec)));
  EXPECT_NE(error.find("architecture 183 is not x86-64"), std::string::npos) << error;
}

TEST(Header, IncrementalWithoutParent) {
  TempDir dir;
  ImageSpec spec = small_spec();
  spec.header.flags = kFileIncremental;
  spec.header.header_check = file_header_check(spec.header);
  std::string error = load_error(dir, assemble(spec.header, raw_records(spec)));
  EXPECT_NE(error.find("an incremental image without a parent_id"), std::string::npos) << error;
}

TEST(Header, IncrementalInVersion2) {
  TempDir dir;
  ImageSpec spec = small_spec();
  spec.header.version = 2;  // version 2 is still read, but incremental images came with version 3
  spec.header.flags = kFileIncremental;
  spec.header.parent_id[0] = 1;
  spec.header.header_check = file_header_check(spec.header);
  std::string error = load_error(dir, assemble(spec.header, raw_records(spec)));
  EXPECT_NE(error.find("an incremental image of version 2"), std::string::npos) << error;
}

TEST(Header, ParentWithoutIncremental) {
  TempDir dir;
  ImageSpec spec = small_spec();
  spec.header.parent_id[0] = 1;
  spec.header.header_check = file_header_check(spec.header);
  std::string error = load_error(dir, assemble(spec.header, raw_records(spec)));
  EXPECT_NE(error.find("parent_id is set in an image that is not incremental"), std::string::npos) << error;
}

TEST(Header, MissingFile) {
  try {
    ImageReader reader("/nonexistent/image.ctx");
    FAIL() << "no error";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

// A record header that claims `size` bytes of payload, with a correct header_check and nothing after.
Bytes claiming(RecordKind kind, uint64_t size) {
  RecordHeader h{};
  h.magic = kRecordMagic;
  h.kind = static_cast<uint16_t>(kind);
  h.stored_size = size;
  h.raw_size = size;
  h.header_check = record_header_check(h);
  return as_bytes(h);
}

TEST(Sizes, AbsurdRecordSizeIsRejectedWithoutAllocating) {
  TempDir dir;
  for (RecordKind kind : {RecordKind::Process, RecordKind::FdData, RecordKind::Pages}) {
    Bytes bytes = as_bytes(valid_header());
    Bytes record = claiming(kind, uint64_t{1} << 60);
    bytes.insert(bytes.end(), record.begin(), record.end());
    std::string error;
    {
      AllocationProbe probe;
      error = load_error(dir, bytes);
      EXPECT_LT(probe.largest(), 64u * 1024);
    }
    EXPECT_NE(error.find("above the limit"), std::string::npos) << error;
  }
}

TEST(Sizes, RecordLargerThanTheFileIsRejectedWithoutAllocating) {
  TempDir dir;
  Bytes bytes = as_bytes(valid_header());
  Bytes record = claiming(RecordKind::Process, kMaxMetaPayload);
  bytes.insert(bytes.end(), record.begin(), record.end());
  bytes.resize(bytes.size() + 1000);
  AllocationProbe probe;
  std::string error = load_error(dir, bytes);
  EXPECT_LT(probe.largest(), 64u * 1024);
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST(Sizes, AbsurdCountsAreRejected) {
  TempDir dir;
  for (int which = 0; which < 3; ++which) {
    ImageSpec spec = small_spec();
    (which == 0   ? spec.process.thread_count
     : which == 1 ? spec.process.region_count
                  : spec.process.fd_count) = 0x80000000u;
    AllocationProbe probe;
    std::string error = load_error(dir, assemble(spec.header, raw_records(spec)));
    EXPECT_LT(probe.largest(), 64u * 1024);
    EXPECT_NE(error.find("record 0 (Process)"), std::string::npos) << error;
  }
}

TEST(Sizes, ShuffleFlagOnlyOnCompressedPages) {
  TempDir dir;
  ImageSpec spec = small_spec();
  std::vector<RawRecord> records = raw_records(spec);
  size_t pages = 0;
  while (records[pages].kind != RecordKind::Pages) {
    ++pages;
  }
  records[pages].flags = kRecordShuffle8;  // an uncompressed Pages record
  std::string error = load_error(dir, assemble(spec.header, records));
  EXPECT_NE(error.find("only compressed Pages records may be byte-shuffled"), std::string::npos) << error;
}

TEST(Sizes, ZstdFlagOnlyOnPages) {
  TempDir dir;
  ImageSpec spec = small_spec();
  std::vector<RawRecord> records = raw_records(spec);
  records[4].flags = kRecordZstd;  // a Thread record
  std::string error = load_error(dir, assemble(spec.header, records));
  EXPECT_NE(error.find("record 4 (Thread)"), std::string::npos) << error;
}

}  // namespace
}  // namespace crcore::image::testing
