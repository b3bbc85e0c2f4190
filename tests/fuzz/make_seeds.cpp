// make_seeds DIR: writes the seed corpus of image_reader_fuzz into DIR, a few small valid images
// written with the real RecordWriter (tests/unit/image/test_image.h), so that no binary seed is
// committed. Each image is loaded back with ImageReader before make_seeds reports success.
//
//   small.ctx            2 threads, file/heap/file-shared/stack regions, a pipe with data,
//                        stream and dgram socketpairs with data, 3 Pages records, uncompressed
//   small-zstd.ctx       the same with zstd-compressed Pages records
//   minimal.ctx          one thread, no region, no fd, no page
//   anon.ctx             small.ctx plus anon-private and deleted-file regions with multi-page
//                        records (compressible and random pages mixed), uncompressed
//   anon-zstd.ctx        the same, compressed
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "image/image_reader.h"
#include "image/zstd_workspace.h"
#include "test_image.h"

namespace {

using namespace crcore::image;
using namespace crcore::image::testing;

RegionRecord anon_region(uint64_t start, uint64_t end, RegionKind kind) {
  RegionRecord r{};
  r.start = start;
  r.end = end;
  r.kind = static_cast<uint32_t>(kind);
  r.prot = kProtRead | kProtWrite;
  return r;
}

ImageSpec minimal_spec() {
  ImageSpec s = small_spec();
  s.threads.resize(1);  // the main thread
  s.regions.clear();
  s.fds.clear();
  s.fd_data.clear();
  s.pages.clear();
  s.finish();
  return s;
}

ImageSpec anon_spec() {
  ImageSpec s = small_spec();
  // Between the file-shared region (ends 0x7f0000002000) and the stack (0x7ffd00000000).
  auto at = s.regions.begin() + 3;
  at = s.regions.insert(at, {anon_region(0x7f0000010000, 0x7f0000020000, RegionKind::AnonPrivate), ""});
  s.regions.insert(at + 1,
                   {anon_region(0x7f0000020000, 0x7f0000022000, RegionKind::DeletedFile), "/tmp/gone (deleted)"});
  Bytes eight;
  for (uint32_t i = 0; i < 8; ++i) {
    Bytes page = i % 3 == 0 ? random_page(100 + i) : pattern_page(static_cast<uint8_t>(i));
    eight.insert(eight.end(), page.begin(), page.end());
  }
  s.pages.push_back({0x7f0000010000, eight});
  Bytes two = pattern_page(0x55);
  Bytes more = pattern_page(0xaa);
  two.insert(two.end(), more.begin(), more.end());
  s.pages.push_back({0x7f0000020000, two});
  s.finish();
  return s;
}

bool write_seed(const std::string& dir, const char* name, const ImageSpec& spec, ZstdWorkspace* zstd) {
  std::string path = dir + "/" + name;
  if (int rc = write_image(spec, path, zstd); rc != 0) {
    std::fprintf(stderr, "make_seeds: %s: the writer failed: %s\n", path.c_str(), std::strerror(-rc));
    return false;
  }
  try {
    ImageReader reader(path);
    Image image = reader.load();
    reader.for_each_pages(image, [](uint64_t, std::span<const std::byte>) {});
    std::printf("make_seeds: %s (%zu threads, %zu regions, %zu fds, %zu Pages records)\n", path.c_str(),
                image.threads.size(), image.regions.size(), image.fds.size(), image.pages.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s does not load: %s\n", path.c_str(), e.what());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "make_seeds: mkdir %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  ZstdWorkspace zstd;
  ZstdWorkspace* compress = zstd.available() ? &zstd : nullptr;
  if (compress == nullptr) {
    std::fprintf(stderr, "make_seeds: no zstd (%s): the -zstd seeds are uncompressed\n",
                 zstd.error() != nullptr ? zstd.error() : "built without it");
  }
  bool ok = true;
  ok &= write_seed(dir, "small.ctx", small_spec(), nullptr);
  ok &= write_seed(dir, "small-zstd.ctx", small_spec(), compress);
  ok &= write_seed(dir, "minimal.ctx", minimal_spec(), nullptr);
  ok &= write_seed(dir, "anon.ctx", anon_spec(), nullptr);
  ok &= write_seed(dir, "anon-zstd.ctx", anon_spec(), compress);
  return ok ? 0 : 1;
}
