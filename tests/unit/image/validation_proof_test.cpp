// Validation proofs (image/validation_proof.h): load(proof) skips the page checksums only for the very
// file the proof names, still checks everything else, and falls back to the full validation (with its
// refusal of a damaged file) whenever the file changed, was replaced, or is not the image named.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "image/image_reader.h"
#include "image/validation_proof.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

// The entry a validation of path would give now: what a caller who trusts the file would write.
ValidatedFile entry_for(const std::string& path, const Image& image) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  ValidatedFile v;
  v.file = FileIdentity::of(st);
  std::memcpy(v.image_id.data(), image.header.image_id, v.image_id.size());
  v.end_hash = image.end_hash;
  return v;
}

void flip_byte(const std::string& path, uint64_t offset) {
  Bytes bytes = read_file(path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::byte value = bytes[offset] ^ std::byte{0x5a};
  ASSERT_EQ(pwrite(fd, &value, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

// The message of load(proof), or "" when it accepts the file.
std::string load_error(const std::string& path, const ValidationProof& proof, Image* out = nullptr) {
  try {
    ImageReader reader(path);
    Image image = reader.load(proof);
    if (out != nullptr) {
      *out = std::move(image);
    }
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

// A written image whose last change is older than kProofSettleNs, and the proof of its full validation.
struct SettledImage {
  TempDir dir;
  std::string path = dir.file("settled.ctx");
  Image image;
  ValidatedFile proof_entry;
};

void make_settled(SettledImage& s, ZstdWorkspace* zstd = nullptr) {
  ASSERT_EQ(write_image(small_spec(), s.path, zstd), 0);
  {
    ImageReader fresh(s.path);
    fresh.load();
    EXPECT_FALSE(fresh.validated().has_value()) << "a proof for a file changed less than 2 s ago";
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(kProofSettleNs + 200'000'000));
  ImageReader reader(s.path);
  s.image = reader.load();
  ASSERT_TRUE(reader.validated().has_value());
  s.proof_entry = *reader.validated();
  EXPECT_EQ(s.proof_entry, entry_for(s.path, s.image));
}

TEST(ValidationProof, TextRoundTripAndMalformedText) {
  ValidatedFile a;
  a.file = FileIdentity{2049, 123456, 789, 1700000000123456789, 1700000000987654321};
  for (size_t i = 0; i < a.image_id.size(); ++i) {
    a.image_id[i] = static_cast<uint8_t>(i * 17);
  }
  a.end_hash = 0x0123456789abcdefULL;
  ValidatedFile b = a;
  b.file.ino = 7;
  std::string text = encode_proof({a, b});
  EXPECT_EQ(parse_proof(text), (ValidationProof{a, b}));
  EXPECT_EQ(parse_proof(""), ValidationProof{});
  std::vector<std::string> bad_texts{
      text + ",", text.substr(0, text.size() - 1), "1:2:3:4:5:6:7", text + ":1", "x" + text, "," + text};
  for (const std::string& bad : bad_texts) {
    EXPECT_FALSE(parse_proof(bad).has_value()) << bad;
  }
}

TEST(ValidationProof, MatchingProofSkipsOnlyThePageChecksums) {
  SettledImage s;
  make_settled(s);
  Image trusted;
  ASSERT_EQ(load_error(s.path, {s.proof_entry}, &trusted), "");
  EXPECT_TRUE(trusted.pages_trusted);
  EXPECT_EQ(trusted.proof_mismatch, "");
  ASSERT_EQ(trusted.pages.size(), s.image.pages.size());
  for (size_t i = 0; i < trusted.pages.size(); ++i) {
    EXPECT_EQ(trusted.pages[i].address, s.image.pages[i].address);
    EXPECT_EQ(trusted.pages[i].payload_offset, s.image.pages[i].payload_offset);
  }
  EXPECT_EQ(trusted.identity, s.image.identity);

  // What the proof vouches for is not hashed: a page byte changed behind the reader's back, with a proof
  // written for the changed file, goes unnoticed (the proof's author harms only their own restart)...
  flip_byte(s.path, s.image.pages[0].payload_offset + sizeof(PagesHeader) + 100);
  Image forged;
  ASSERT_EQ(load_error(s.path, {entry_for(s.path, s.image)}, &forged), "");
  EXPECT_TRUE(forged.pages_trusted);
  // ... while everything else still is: a metadata payload changed the same way is refused.
  SettledImage t;
  ASSERT_EQ(write_image(small_spec(), t.path), 0);
  Image plain = ImageReader(t.path).load();
  flip_byte(t.path, sizeof(FileHeader) + sizeof(RecordHeader) + 8);  // inside the Process record's payload
  std::string error = load_error(t.path, {entry_for(t.path, plain)});
  EXPECT_NE(error.find("record 0 (Process)"), std::string::npos) << error;
  EXPECT_NE(error.find("payload checksum mismatch"), std::string::npos) << error;
}

TEST(ValidationProof, AChangedFileIsValidatedFully) {
  SettledImage s;
  make_settled(s);
  flip_byte(s.path, s.image.pages[0].payload_offset + sizeof(PagesHeader) + 100);
  std::string error = load_error(s.path, {s.proof_entry});
  EXPECT_NE(error.find("record " + std::to_string(s.image.pages[0].record_index) + " (Pages)"), std::string::npos)
      << error;
  EXPECT_NE(error.find("payload checksum mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find("changed since it was checked"), std::string::npos) << error;
}

TEST(ValidationProof, AReplacedFileIsValidatedFully) {
  SettledImage s;
  make_settled(s);
  // The same bytes under a new inode: valid, but not the file that was checked.
  std::string copy = s.dir.file("copy.ctx");
  write_file(copy, read_file(s.path));
  ASSERT_EQ(std::rename(copy.c_str(), s.path.c_str()), 0);
  Image image;
  ASSERT_EQ(load_error(s.path, {s.proof_entry}, &image), "");
  EXPECT_FALSE(image.pages_trusted);
  EXPECT_NE(image.proof_mismatch.find("no file with this device and inode"), std::string::npos) << image.proof_mismatch;
  // Damaged under a new inode: refused as without a proof.
  Bytes bytes = read_file(s.path);
  bytes[s.image.pages[1].payload_offset + sizeof(PagesHeader) + 5] ^= std::byte{1};
  write_file(copy, bytes);
  ASSERT_EQ(std::rename(copy.c_str(), s.path.c_str()), 0);
  std::string error = load_error(s.path, {s.proof_entry});
  EXPECT_NE(error.find("payload checksum mismatch"), std::string::npos) << error;
}

TEST(ValidationProof, AnEntryForAnotherImageIsNotUsed) {
  SettledImage s;
  ASSERT_EQ(write_image(small_spec(), s.path), 0);
  Image plain = ImageReader(s.path).load();
  ValidatedFile other_id = entry_for(s.path, plain);
  other_id.image_id[3] ^= 1;
  Image image;
  ASSERT_EQ(load_error(s.path, {other_id}, &image), "");
  EXPECT_FALSE(image.pages_trusted);
  EXPECT_NE(image.proof_mismatch.find("image id"), std::string::npos) << image.proof_mismatch;
  ValidatedFile other_end = entry_for(s.path, plain);
  other_end.end_hash ^= 1;
  ASSERT_EQ(load_error(s.path, {other_end}, &image), "");
  EXPECT_FALSE(image.pages_trusted);
  EXPECT_NE(image.proof_mismatch.find("End record"), std::string::npos) << image.proof_mismatch;
  // An empty proof names nothing.
  ASSERT_EQ(load_error(s.path, {}, &image), "");
  EXPECT_FALSE(image.pages_trusted);
}

TEST(ValidationProof, CompressedImage) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  SettledImage s;
  ASSERT_EQ(write_image(small_spec(), s.path, &zstd), 0);
  Image plain = ImageReader(s.path).load();
  bool compressed = false;
  for (const PagesRef& ref : plain.pages) {
    compressed = compressed || (ref.flags & kRecordZstd) != 0;
  }
  ASSERT_TRUE(compressed);
  Image image;
  ASSERT_EQ(load_error(s.path, {entry_for(s.path, plain)}, &image), "");
  EXPECT_TRUE(image.pages_trusted);
  ASSERT_EQ(image.pages.size(), plain.pages.size());
  for (size_t i = 0; i < image.pages.size(); ++i) {
    EXPECT_EQ(image.pages[i].length, plain.pages[i].length);
    EXPECT_EQ(image.pages[i].stored_size, plain.pages[i].stored_size);
  }
}

}  // namespace
}  // namespace crcore::image::testing
