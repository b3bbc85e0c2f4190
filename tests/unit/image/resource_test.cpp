// Resource records (image format 3, and the version-4 types): they round-trip through the reader, the reader's rules
// refuse a damaged one, and a version-2 image (no Resource records) is still read.
#include <cstring>

#include <gtest/gtest.h>

#include "image/checksum.h"
#include "image/image_reader.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

Bytes resource(ResourceType type, int fd, int tid, const Bytes& bytes) {
  ResourceHeader h{};
  h.type = static_cast<uint32_t>(type);
  h.fd = fd;
  h.tid = tid;
  h.length = bytes.size();
  Bytes out = as_bytes(h);
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Bytes text(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

// The small image's records with `extra` Resource payloads put where they belong (before Pages).
Bytes with_resources(const ImageSpec& spec, const std::vector<Bytes>& extra, uint32_t version = kImageVersion) {
  std::vector<RawRecord> records = raw_records(spec);
  auto at = records.begin();
  while (at != records.end() && at->kind != RecordKind::Pages) {
    ++at;
  }
  for (const Bytes& payload : extra) {
    at = records.insert(at, RawRecord{RecordKind::Resource, payload}) + 1;
  }
  FileHeader header = spec.header;
  header.version = version;
  header.header_check = file_header_check(header);
  return assemble(header, records);
}

Image load(const TempDir& dir, const Bytes& bytes) {
  std::string path = dir.file("resources.ctx");
  write_file(path, bytes);
  ImageReader reader(path);
  return reader.load();
}

std::string load_error(const TempDir& dir, const Bytes& bytes) {
  try {
    load(dir, bytes);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

TEST(Resources, RoundTrip) {
  TempDir dir;
  ImageSpec spec = small_spec();
  PosixTimerResource timer{};
  timer.id = 3;
  timer.clock = 1;
  timer.signal = 34;
  timer.value_ns = 1500000;
  timer.interval_ns = 20000000;
  int fd = spec.fds.front().first.fd;
  int tid = spec.threads.front().tid;
  Image image = load(dir, with_resources(spec, {resource(ResourceType::FdInfo, fd, 0, text("lock:\t1: FLOCK\n")),
                                                resource(ResourceType::PosixTimer, -1, 0, as_bytes(timer)),
                                                resource(ResourceType::Affinity, -1, tid, Bytes(8, std::byte{1}))}));
  ASSERT_EQ(image.resources.size(), 3u);
  EXPECT_EQ(image.resources[0].text(), "lock:\t1: FLOCK\n");
  EXPECT_EQ(image.resources[0].header.fd, fd);
  PosixTimerResource back;
  memcpy(&back, image.resources[1].bytes.data(), sizeof back);
  EXPECT_EQ(back.id, 3);
  EXPECT_EQ(back.interval_ns, 20000000);
  EXPECT_EQ(image.resources[2].header.tid, tid);
}

TEST(Resources, VersionTwoImageIsStillRead) {
  TempDir dir;
  Image image = load(dir, with_resources(small_spec(), {}, 2));
  EXPECT_EQ(image.header.version, 2u);
  EXPECT_TRUE(image.resources.empty());
}

TEST(Resources, DamagedOnesAreRefused) {
  TempDir dir;
  ImageSpec spec = small_spec();
  int tid = spec.threads.front().tid;
  struct Case {
    Bytes payload;
    std::string expected;
  } cases[] = {
      {resource(ResourceType::FdInfo, 999, 0, text("x")), "fdinfo resource of fd 999, which is not in the image"},
      {resource(ResourceType::Affinity, -1, 424242, Bytes(8)), "affinity resource of thread 424242"},
      {resource(ResourceType::Prctl, -1, 0, Bytes(3)), "prctl resource of 3 bytes (expected 24)"},
      {resource(ResourceType::PosixTimer, 4, 0, Bytes(sizeof(PosixTimerResource))), "posix-timer resource names fd 4"},
      {resource(ResourceType::Topology, -1, tid, text("<xml/>")), "topology resource names thread"},
      {resource(static_cast<ResourceType>(77), -1, 0, Bytes()), "unknown resource type 77"},
  };
  for (const Case& c : cases) {
    std::string error = load_error(dir, with_resources(spec, {c.payload}));
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
  Bytes short_length = resource(ResourceType::FdInfo, spec.fds.front().first.fd, 0, text("abc"));
  short_length.pop_back();
  EXPECT_NE(load_error(dir, with_resources(spec, {short_length})).find("does not match the payload"),
            std::string::npos);
}

Bytes sysv_semaphores(int32_t id, uint32_t nsems, size_t values) {
  SysvSemResource s{};
  s.id = id;
  s.key = 0x1234;
  s.mode = 0640;
  s.nsems = nsems;
  Bytes out = as_bytes(s);
  for (size_t i = 0; i < values; ++i) {
    uint16_t v = static_cast<uint16_t>(i + 1);
    Bytes b = as_bytes(v);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

Bytes sysv_queue(int32_t id, const std::vector<std::pair<int64_t, std::string>>& messages, uint32_t count) {
  SysvMsgResource q{};
  q.id = id;
  q.count = count;
  q.qbytes = 16384;
  Bytes out = as_bytes(q);
  for (const auto& [type, body] : messages) {
    SysvMessageHeader m{type, body.size()};
    Bytes h = as_bytes(m);
    out.insert(out.end(), h.begin(), h.end());
    Bytes t = text(body);
    out.insert(out.end(), t.begin(), t.end());
  }
  return out;
}

TEST(Resources, SysvObjectsAndRegionPolicies) {
  TempDir dir;
  ImageSpec spec = small_spec();
  RegionMemPolicyResource r{};
  r.start = 0x10000;
  r.end = 0x14000;
  r.mode = 3;
  r.nodes[0] = 1;
  Image image =
      load(dir, with_resources(spec, {resource(ResourceType::SysvSem, -1, 0, sysv_semaphores(7, 3, 3)),
                                      resource(ResourceType::SysvMsg, -1, 0, sysv_queue(9, {{2, "ab"}, {1, ""}}, 2)),
                                      resource(ResourceType::RegionMemPolicy, -1, 0, as_bytes(r))}));
  ASSERT_EQ(image.resources.size(), 3u);
  EXPECT_EQ(image.resources[0].bytes.size(), sizeof(SysvSemResource) + 6);
  EXPECT_EQ(image.resources[1].bytes.size(), sizeof(SysvMsgResource) + 2 * sizeof(SysvMessageHeader) + 2);

  RegionMemPolicyResource backwards = r;
  backwards.end = r.start;
  struct Case {
    Bytes payload;
    std::string expected;
  } cases[] = {
      {resource(ResourceType::SysvSem, -1, 0, sysv_semaphores(7, 3, 2)), "sysv-sem resource of set 7: 3 semaphores"},
      {resource(ResourceType::SysvSem, -1, 0, sysv_semaphores(7, 0, 0)), "sysv-sem resource of set 7: 0 semaphores"},
      {resource(ResourceType::SysvMsg, -1, 0, sysv_queue(9, {{2, "ab"}}, 2)), "message 1 is cut short"},
      {resource(ResourceType::SysvMsg, -1, 0, sysv_queue(9, {{0, "ab"}}, 1)), "message 0 has type 0"},
      {resource(ResourceType::SysvMsg, -1, 0, sysv_queue(9, {{1, "ab"}, {1, "c"}}, 1)), "bytes after its 1 messages"},
      {resource(ResourceType::SysvMsg, 3, 0, sysv_queue(9, {}, 0)), "sysv-msg resource names fd 3"},
      {resource(ResourceType::RegionMemPolicy, -1, 0, as_bytes(backwards)), "is not a valid range"},
      {resource(ResourceType::RegionMemPolicy, -1, 0, Bytes(8)), "region-mempolicy resource of 8 bytes"},
  };
  for (const Case& c : cases) {
    std::string error = load_error(dir, with_resources(spec, {c.payload}));
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

SysvShmResource sysv_segment(int32_t id, uint64_t size) {
  SysvShmResource m{};
  m.id = id;
  m.mode = 0600;
  m.flags = kSysvShmReadOnly | kSysvShmRemoved;
  m.size = size;
  m.address = 0x7f0000000000;
  m.length = (size + 4095) / 4096 * 4096;
  return m;
}

TEST(Resources, SysvSharedMemory) {
  TempDir dir;
  ImageSpec spec = small_spec();
  Image image =
      load(dir, with_resources(spec, {resource(ResourceType::SysvShm, -1, 0, as_bytes(sysv_segment(5, 5000))),
                                      resource(ResourceType::SysvShm, -1, 0, as_bytes(sysv_segment(5, 4096)))}));
  ASSERT_EQ(image.resources.size(), 2u);
  SysvShmResource back{};
  memcpy(&back, image.resources[0].bytes.data(), sizeof back);
  EXPECT_EQ(back.id, 5);
  EXPECT_EQ(back.size, 5000u);
  EXPECT_EQ(back.length, 8192u);
  EXPECT_EQ(back.flags, uint32_t{kSysvShmReadOnly | kSysvShmRemoved});

  SysvShmResource unaligned = sysv_segment(5, 5000);
  unaligned.address += 100;
  SysvShmResource short_map = sysv_segment(5, 5000);
  short_map.length = 4096;
  SysvShmResource offset = sysv_segment(5, 5000);
  offset.offset = 4096;
  SysvShmResource flags = sysv_segment(5, 5000);
  flags.flags = 8;
  SysvShmResource empty = sysv_segment(5, 0);
  struct Case {
    Bytes payload;
    std::string expected;
  } cases[] = {
      {resource(ResourceType::SysvShm, -1, 0, as_bytes(unaligned)), "sysv-shm resource of segment 5"},
      {resource(ResourceType::SysvShm, -1, 0, as_bytes(short_map)), "is not a valid attachment"},
      {resource(ResourceType::SysvShm, -1, 0, as_bytes(offset)), "is not a valid attachment"},
      {resource(ResourceType::SysvShm, -1, 0, as_bytes(flags)), "is not a valid attachment"},
      {resource(ResourceType::SysvShm, -1, 0, as_bytes(empty)), "is not a valid attachment"},
      {resource(ResourceType::SysvShm, -1, 0, Bytes(8)), "sysv-shm resource of 8 bytes"},
      {resource(ResourceType::SysvShm, 4, 0, as_bytes(sysv_segment(5, 5000))), "sysv-shm resource names fd 4"},
  };
  for (const Case& c : cases) {
    std::string error = load_error(dir, with_resources(spec, {c.payload}));
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

TEST(Resources, OutOfOrderIsRefused) {
  TempDir dir;
  ImageSpec spec = small_spec();
  std::vector<RawRecord> records = raw_records(spec);
  // A Resource record before the Fd records.
  auto at = records.begin();
  while (at->kind != RecordKind::Fd) {
    ++at;
  }
  records.insert(at, RawRecord{RecordKind::Resource, resource(ResourceType::Prctl, -1, 0, Bytes(24))});
  EXPECT_FALSE(load_error(dir, assemble(spec.header, records)).empty());
}

}  // namespace
}  // namespace crcore::image::testing
