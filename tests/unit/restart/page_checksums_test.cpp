// The overlapped validation refuses exactly what load() refuses: ImageReader::load_without_page_checksums()
// followed by check_page_checksums() (what the page validator runs) refuses every single-byte change that
// load() refuses, and a damaged page byte with load()'s very message (the image and the record).
#include <fcntl.h>
#include <unistd.h>

#include <exception>
#include <string>

#include <gtest/gtest.h>

#include "image/image_reader.h"
#include "restart/image_chain.h"
#include "restart/page_validator.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

std::string full_error(const std::string& path) {
  try {
    ImageReader reader(path);
    reader.load();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// The verdict of the overlapped order: the load without page checksums, then the validator's check.
// `deferred` says whether the load passed (the refusal, if any, came from the page checksums).
std::string overlapped_error(const std::string& path, bool* deferred = nullptr) {
  restart::ImageChain chain;
  try {
    ImageReader reader(path);
    chain.images.push_back(reader.load_without_page_checksums());
  } catch (const std::exception& e) {
    return e.what();
  }
  if (deferred != nullptr) {
    *deferred = true;
  }
  try {
    restart::check_page_checksums(chain, 2);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

void patch(int fd, size_t offset, std::byte value) { ASSERT_EQ(pwrite(fd, &value, 1, static_cast<off_t>(offset)), 1); }

void expect_same_refusals(ZstdWorkspace* zstd) {
  TempDir dir;
  std::string path = dir.file("flip.ctx");
  ASSERT_EQ(write_image(small_spec(), path, zstd), 0);
  Bytes good = read_file(path);
  ASSERT_EQ(overlapped_error(path), "");
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  size_t page_flips = 0, failures = 0;
  for (size_t offset = 0; offset < good.size() && failures < 5; ++offset) {
    patch(fd, offset, good[offset] ^ std::byte{0xff});
    std::string full = full_error(path);
    bool deferred = false;
    std::string overlapped = overlapped_error(path, &deferred);
    if (full.empty() != overlapped.empty()) {
      ADD_FAILURE() << "byte " << offset << ": load() says '" << full << "', the overlapped order '" << overlapped
                    << "'";
      ++failures;
    } else if (deferred && !overlapped.empty()) {
      ++page_flips;
      // Inside page bytes: the same words as load() (a zstd frame's header is read by the load already).
      if (full != overlapped) {
        ADD_FAILURE() << "byte " << offset << ": load() says '" << full << "', the validator '" << overlapped << "'";
        ++failures;
      }
    }
    patch(fd, offset, good[offset]);
  }
  ::close(fd);
  EXPECT_GT(page_flips, 4096u) << "the page bytes were not among the flips";
}

TEST(OverlappedValidation, RefusesEveryFlipLoadRefusesUncompressed) { expect_same_refusals(nullptr); }

TEST(OverlappedValidation, RefusesEveryFlipLoadRefusesCompressed) {
  ZstdWorkspace zstd;
  expect_same_refusals(&zstd);
}

TEST(OverlappedValidation, RefusesAFileReplacedAfterTheLoad) {
  TempDir dir;
  std::string path = dir.file("image.ctx");
  ASSERT_EQ(write_image(small_spec(), path), 0);
  restart::ImageChain chain;
  ImageReader reader(path);
  chain.images.push_back(reader.load_without_page_checksums());
  ASSERT_EQ(write_image(small_spec(), dir.file("other.ctx")), 0);
  ASSERT_EQ(rename(dir.file("other.ctx").c_str(), path.c_str()), 0);
  try {
    restart::check_page_checksums(chain, 1);
    ADD_FAILURE() << "a replaced file passed";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("changed while cr_restart was reading it"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace crcore::image::testing
