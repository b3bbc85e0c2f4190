// When the page checksums may be checked while the stage loads the pages (restart/validation_order.h):
// never for an image whose restart shows something outside the new process before the stage's verdict.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "image/image.h"
#include "restart/image_chain.h"
#include "restart/restorer.h"
#include "restart/validation_order.h"

namespace crcore::restart {
namespace {

image::FdEntry fd(int number, image::FdKind kind, std::string path) {
  image::FdEntry f{};
  f.record.fd = number;
  f.record.kind = static_cast<uint32_t>(kind);
  f.path = std::move(path);
  return f;
}

image::ResourceEntry resource(image::ResourceType type, int number, const std::string& text = "") {
  image::ResourceEntry e{};
  e.header.type = static_cast<uint32_t>(type);
  e.header.fd = number;
  for (char c : text) {
    e.bytes.push_back(static_cast<std::byte>(c));
  }
  return e;
}

// A process with what every plain program has: /dev/null, files, a pipe, a socketpair.
ImageChain plain() {
  ImageChain chain;
  image::Image img;
  img.fds.push_back(fd(0, image::FdKind::CharDevice, "/dev/null"));
  img.fds.push_back(fd(1, image::FdKind::RegularFile, "/tmp/out"));
  img.fds.push_back(fd(2, image::FdKind::Tty, "/dev/pts/0"));
  img.fds.push_back(fd(3, image::FdKind::PipeRead, "pipe:[1]"));
  img.fds.push_back(fd(4, image::FdKind::UnixPair, "socket:[2]"));
  img.fds.push_back(fd(5, image::FdKind::Memfd, "/memfd:x"));
  img.resources.push_back(resource(image::ResourceType::FdInfo, 5, "pos:\t0\nflags:\t02\nseals:\t0\n"));
  img.resources.push_back(resource(image::ResourceType::PosixTimer, -1));
  image::RegionEntry heap{};
  heap.record.kind = static_cast<uint32_t>(image::RegionKind::Heap);
  heap.record.pages_saved = 10;
  img.regions.push_back(heap);
  chain.images.push_back(std::move(img));
  return chain;
}

TEST(ValidationOrder, PlainProcessMayOverlap) {
  RestartOptions options;
  EXPECT_EQ(visible_before_stage(plain(), options), "");
}

TEST(ValidationOrder, DescriptorsOthersSee) {
  RestartOptions options;
  struct Case {
    image::FdKind kind;
    const char* path;
    const char* words;
  } cases[] = {
      {image::FdKind::Fifo, "/tmp/fifo", "named FIFO"},
      {image::FdKind::UnixListen, "/tmp/sock", "named AF_UNIX socket"},
      {image::FdKind::UnixBound, "/tmp/sock", "named AF_UNIX socket"},
      {image::FdKind::PtyMaster, "/dev/ptmx", "pseudo-terminal"},
      {image::FdKind::CharDevice, "/dev/nst0", "/dev/nst0"},
  };
  for (const Case& c : cases) {
    ImageChain chain = plain();
    chain.images[0].fds.push_back(fd(9, c.kind, c.path));
    std::string why = visible_before_stage(chain, options);
    EXPECT_NE(why.find(c.words), std::string::npos) << why;
    EXPECT_NE(why.find("descriptor 9"), std::string::npos) << why;
  }
}

TEST(ValidationOrder, RelocatedDeviceIsJudgedByItsNewPath) {
  RestartOptions options;
  options.relocations.emplace_back("/dev/nst0", "/dev/null");
  ImageChain chain = plain();
  chain.images[0].fds.push_back(fd(9, image::FdKind::CharDevice, "/dev/nst0"));
  EXPECT_EQ(visible_before_stage(chain, options), "");
}

TEST(ValidationOrder, ResourcesOthersSee) {
  RestartOptions options;
  for (auto type : {image::ResourceType::SysvSem, image::ResourceType::SysvMsg, image::ResourceType::SysvShm}) {
    ImageChain chain = plain();
    chain.images[0].resources.push_back(resource(type, -1));
    EXPECT_NE(visible_before_stage(chain, options).find("SysV"), std::string::npos);
  }
  ImageChain terminal = plain();
  terminal.images[0].resources.push_back(resource(image::ResourceType::Terminal, 2));
  EXPECT_NE(visible_before_stage(terminal, options).find("terminal"), std::string::npos);
  ImageChain locked = plain();
  locked.images[0].resources.push_back(resource(
      image::ResourceType::FdInfo, 1, "pos:\t0\nflags:\t02\nlock:\t1: FLOCK  ADVISORY  WRITE 12 08:01:3 0 EOF\n"));
  EXPECT_NE(visible_before_stage(locked, options).find("file lock (descriptor 1)"), std::string::npos);
}

TEST(ValidationOrder, SharedFileMappingWithPages) {
  RestartOptions options;
  ImageChain chain = plain();
  image::RegionEntry shared{};
  shared.record.kind = static_cast<uint32_t>(image::RegionKind::FileShared);
  shared.path = "/tmp/data";
  chain.images[0].regions.push_back(shared);
  EXPECT_EQ(visible_before_stage(chain, options), "") << "no pages: nothing written into the file";
  chain.images[0].regions.back().record.pages_saved = 1;
  EXPECT_NE(visible_before_stage(chain, options).find("/tmp/data"), std::string::npos);
}

TEST(ValidationOrder, Environment) {
  unsetenv("CRCORE_RESTART_VALIDATE");
  EXPECT_EQ(validation_order_from_environment(), ValidationOrder::Overlap);
  setenv("CRCORE_RESTART_VALIDATE", "overlap", 1);
  EXPECT_EQ(validation_order_from_environment(), ValidationOrder::Overlap);
  setenv("CRCORE_RESTART_VALIDATE", "first", 1);
  EXPECT_EQ(validation_order_from_environment(), ValidationOrder::First);
  setenv("CRCORE_RESTART_VALIDATE", "later", 1);
  EXPECT_THROW(validation_order_from_environment(), RestartError);
  unsetenv("CRCORE_RESTART_VALIDATE");
}

}  // namespace
}  // namespace crcore::restart
