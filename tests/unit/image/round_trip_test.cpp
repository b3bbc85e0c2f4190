// Round trips: what RecordWriter writes, ImageReader loads back field for field, and
// for_each_pages delivers exactly the bytes that were written.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include <cmath>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "image/checksum.h"
#include "image/image_reader.h"
#include "image/kind_names.h"
#include "image/record_writer.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

template <typename T>
bool same(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// address -> bytes, from for_each_pages (pieces of one record are joined).
std::map<uint64_t, Bytes> collect_pages(const ImageReader& reader, const Image& image) {
  std::map<uint64_t, Bytes> out;
  uint64_t next = 0;
  Bytes* current = nullptr;
  reader.for_each_pages(image, [&](uint64_t address, std::span<const std::byte> bytes) {
    if (current == nullptr || address != next) {
      current = &out[address];
    }
    current->insert(current->end(), bytes.begin(), bytes.end());
    next = address + bytes.size();
  });
  return out;
}

void expect_matches_spec(const Image& image, const ImageSpec& spec) {
  EXPECT_EQ(std::memcmp(image.header.image_id, spec.header.image_id, 16), 0);
  EXPECT_EQ(image.header.created_ns, spec.header.created_ns);
  EXPECT_TRUE(same(image.process, spec.process));
  EXPECT_EQ(image.cwd, spec.cwd);
  EXPECT_EQ(image.exe, spec.exe);
  EXPECT_EQ(image.cmdline, (std::vector<std::string>{"app", "--steps", "100"}));
  EXPECT_EQ(image.environment, (std::vector<std::string>{"HOME=/home/user", "PATH=/usr/bin"}));
  EXPECT_EQ(image.hostname, spec.hostname);
  EXPECT_EQ(image.kernel, spec.kernel);
  EXPECT_TRUE(same(image.mm, spec.mm));
  EXPECT_TRUE(same(image.sigactions, spec.sigactions));
  EXPECT_TRUE(same(image.rlimits, spec.rlimits));
  ASSERT_EQ(image.threads.size(), spec.threads.size());
  for (size_t i = 0; i < spec.threads.size(); ++i) {
    EXPECT_TRUE(same(image.threads[i], spec.threads[i])) << "thread " << i;
  }
  ASSERT_EQ(image.regions.size(), spec.regions.size());
  for (size_t i = 0; i < spec.regions.size(); ++i) {
    EXPECT_TRUE(same(image.regions[i].record, spec.regions[i].first)) << "region " << i;
    EXPECT_EQ(image.regions[i].path, spec.regions[i].second);
  }
  ASSERT_EQ(image.fds.size(), spec.fds.size());
  for (size_t i = 0; i < spec.fds.size(); ++i) {
    EXPECT_TRUE(same(image.fds[i].record, spec.fds[i].first)) << "fd " << i;
    EXPECT_EQ(image.fds[i].path, spec.fds[i].second);
  }
  ASSERT_EQ(image.fd_data.size(), spec.fd_data.size());
  for (size_t i = 0; i < spec.fd_data.size(); ++i) {
    EXPECT_EQ(image.fd_data[i].inode, spec.fd_data[i].first);
    EXPECT_EQ(image.fd_data[i].bytes, spec.fd_data[i].second);
  }
  // Pipes and stream sockets hold bytes; a datagram socket's data is split into its messages.
  EXPECT_TRUE(image.fd_data[0].messages.empty());
  EXPECT_TRUE(image.fd_data[1].messages.empty());
  auto text = [](const std::vector<std::byte>& bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  ASSERT_EQ(image.fd_data[2].messages.size(), 3u);
  EXPECT_EQ(text(image.fd_data[2].messages[0]), "first");
  EXPECT_EQ(text(image.fd_data[2].messages[1]), "");
  EXPECT_EQ(text(image.fd_data[2].messages[2]), "third message");
  ASSERT_EQ(image.pages.size(), spec.pages.size());
  for (size_t i = 0; i < spec.pages.size(); ++i) {
    EXPECT_EQ(image.pages[i].address, spec.pages[i].address);
    EXPECT_EQ(image.pages[i].length, spec.pages[i].bytes.size());
  }
  EXPECT_EQ(image.end.record_count,
            4 + spec.threads.size() + spec.regions.size() + spec.fds.size() + spec.fd_data.size() + 3);
  EXPECT_EQ(image.end.pages_bytes, 3u * 4096);
}

void expect_pages_match(const ImageReader& reader, const Image& image, const ImageSpec& spec) {
  std::map<uint64_t, Bytes> pages = collect_pages(reader, image);
  ASSERT_EQ(pages.size(), spec.pages.size());
  for (const PagesSpec& p : spec.pages) {
    ASSERT_TRUE(pages.count(p.address)) << std::hex << p.address;
    EXPECT_EQ(pages[p.address], p.bytes) << std::hex << p.address;
  }
}

TEST(RoundTrip, EveryRecordKindUncompressed) {
  TempDir dir;
  ImageSpec spec = small_spec();
  std::string path = dir.file("image.ctx");
  ASSERT_EQ(write_image(spec, path), 0);
  ImageReader reader(path);
  Image image = reader.load();
  expect_matches_spec(image, spec);
  for (const PagesRef& ref : image.pages) {
    EXPECT_EQ(ref.flags, 0);
    EXPECT_EQ(ref.stored_size, sizeof(PagesHeader) + 4096);
  }
  expect_pages_match(reader, image, spec);
}

TEST(RoundTrip, EveryRecordKindZstd) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  TempDir dir;
  ImageSpec spec = small_spec();
  std::string path = dir.file("image.ctx");
  ASSERT_EQ(write_image(spec, path, &zstd), 0);
  ImageReader reader(path);
  Image image = reader.load();
  expect_matches_spec(image, spec);
  // The random page is stored raw, the two patterned pages compressed.
  EXPECT_EQ(image.pages[0].flags, 0);
  EXPECT_NE(image.pages[1].flags & kRecordZstd, 0);  // byte-shuffled or not: whichever is smaller
  EXPECT_NE(image.pages[2].flags & kRecordZstd, 0);
  EXPECT_LT(image.pages[1].stored_size, 200u);
  expect_pages_match(reader, image, spec);
}

TEST(RoundTrip, WriterAndAssemblerAgree) {
  TempDir dir;
  ImageSpec spec = small_spec();
  ASSERT_EQ(write_image(spec, dir.file("a")), 0);
  EXPECT_EQ(read_file(dir.file("a")), assemble(spec.header, raw_records(spec)));
}

TEST(RoundTrip, WriterCounters) {
  TempDir dir;
  std::string path = dir.file("image.ctx");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ImageSpec spec = small_spec();
  Bytes scratch(RecordWriter::kMinScratch);
  RecordWriter writer(fd, scratch, nullptr);
  ASSERT_EQ(writer.begin(FileHeader{}), 0);
  EXPECT_EQ(writer.bytes_written(), sizeof(FileHeader));
  for (const RawRecord& r : raw_records(spec)) {
    if (r.kind != RecordKind::Pages) {
      ASSERT_EQ(writer.record(r.kind, {{r.payload.data(), r.payload.size()}}), 0);
    }
  }
  uint64_t before_pages = writer.records();
  for (const PagesSpec& p : spec.pages) {
    ASSERT_EQ(writer.pages(p.address, p.bytes.data(), p.bytes.size()), 0);
  }
  EXPECT_EQ(writer.records(), before_pages + 3);
  EXPECT_EQ(writer.page_bytes(), 3u * 4096);
  EXPECT_EQ(writer.page_bytes_stored(), 3u * 4096);
  ASSERT_EQ(writer.end(), 0);
  ::close(fd);
  EXPECT_EQ(writer.bytes_written(), read_file(path).size());
  ImageReader reader(path);
  Image image = reader.load();
  EXPECT_EQ(writer.records(), image.end.record_count + 1);
  EXPECT_EQ(image.header.page_size, 4096u);  // filled in by begin()
  EXPECT_EQ(image.header.arch, kArchX86_64);
}

// Memory that is not a std::vector: a mapping the writer reads straight from.
class Mapping {
 public:
  explicit Mapping(size_t size) : size_(size) {
    data_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data_ == MAP_FAILED) {
      throw std::runtime_error("mmap");
    }
  }
  ~Mapping() { munmap(data_, size_); }
  std::byte* data() const { return static_cast<std::byte*>(data_); }
  size_t size() const { return size_; }

 private:
  void* data_;
  size_t size_;
};

// An image of one anonymous region holding `memory`, written with pages() in one call.
std::string write_one_region(const TempDir& dir, const Mapping& memory, uint64_t address, ZstdWorkspace* zstd,
                             size_t scratch_size = RecordWriter::kMinScratch) {
  ImageSpec spec = small_spec();
  spec.pages.clear();
  spec.regions.push_back({RegionRecord{address, address + memory.size(), 0, 0, 0, 0, memory.size() / 4096,
                                       static_cast<uint32_t>(RegionKind::AnonPrivate), kProtRead | kProtWrite, 0, 0},
                          ""});
  std::sort(spec.regions.begin(), spec.regions.end(),
            [](const auto& a, const auto& b) { return a.first.start < b.first.start; });
  spec.finish();
  for (auto& [r, path] : spec.regions) {
    if (r.start == address) {
      r.pages_saved = memory.size() / 4096;
    }
  }
  std::vector<RawRecord> records = raw_records(spec);
  std::string path = dir.file("big.ctx");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  Bytes scratch(scratch_size);
  RecordWriter writer(fd, scratch, zstd);
  EXPECT_EQ(writer.begin(spec.header), 0);
  for (const RawRecord& r : records) {
    EXPECT_EQ(writer.record(r.kind, {{r.payload.data(), r.payload.size()}}), 0);
  }
  EXPECT_EQ(writer.pages(address, memory.data(), memory.size()), 0);
  EXPECT_EQ(writer.end(), 0);
  ::close(fd);
  return path;
}

void expect_memory_delivered(const std::string& path, const Mapping& memory, uint64_t address) {
  ImageReader reader(path);
  Image image = reader.load();
  uint64_t delivered = 0;
  bool equal = true;
  reader.for_each_pages(image, [&](uint64_t at, std::span<const std::byte> bytes) {
    ASSERT_GE(at, address);
    ASSERT_LE(at - address + bytes.size(), memory.size());
    equal = equal && std::memcmp(memory.data() + (at - address), bytes.data(), bytes.size()) == 0;
    delivered += bytes.size();
  });
  EXPECT_TRUE(equal);
  EXPECT_EQ(delivered, memory.size());
}

TEST(RoundTrip, LargePagesSplitAtMaxPayload) {
  TempDir dir;
  Mapping memory(kMaxPagesPayload + 2 * 4096);
  for (size_t i = 0; i < memory.size(); i += 4096) {
    std::memcpy(memory.data() + i, &i, sizeof i);
  }
  uint64_t address = 0x7e0000000000;
  std::string path = write_one_region(dir, memory, address, nullptr);
  ImageReader reader(path);
  Image image = reader.load();
  ASSERT_EQ(image.pages.size(), 2u);
  EXPECT_EQ(image.pages[0].length, kMaxPagesPayload);
  EXPECT_EQ(image.pages[1].address, address + kMaxPagesPayload);
  EXPECT_EQ(image.pages[1].length, 2u * 4096);
  expect_memory_delivered(path, memory, address);
}

TEST(RoundTrip, CompressedPagesSplitToFitTheScratch) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  TempDir dir;
  Mapping memory(4u << 20);
  for (size_t i = 0; i < memory.size(); i += 64) {
    memory.data()[i] = static_cast<std::byte>(i / 4096);
  }
  uint64_t address = 0x7e0000000000;
  std::string path = write_one_region(dir, memory, address, &zstd);
  ImageReader reader(path);
  Image image = reader.load();
  ASSERT_GT(image.pages.size(), 1u);
  uint64_t stored = 0;
  for (const PagesRef& ref : image.pages) {
    EXPECT_NE(ref.flags & kRecordZstd, 0);
    EXPECT_LE(ref.length + 56, RecordWriter::kMinScratch);
    stored += ref.stored_size;
  }
  EXPECT_LT(stored, memory.size() / 8);
  expect_memory_delivered(path, memory, address);
}

TEST(RoundTrip, IncompressiblePagesAreStoredRaw) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  TempDir dir;
  Mapping memory(1u << 20);
  for (size_t i = 0; i < memory.size(); i += 4096) {
    Bytes page = random_page(static_cast<uint32_t>(i));
    std::memcpy(memory.data() + i, page.data(), page.size());
  }
  uint64_t address = 0x7e0000000000;
  std::string path = write_one_region(dir, memory, address, &zstd);
  ImageReader reader(path);
  Image image = reader.load();
  for (const PagesRef& ref : image.pages) {
    EXPECT_EQ(ref.flags, 0);
  }
  expect_memory_delivered(path, memory, address);
}

TEST(RoundTrip, LargerScratchMakesLargerCompressedRecords) {
  ZstdWorkspace zstd;
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  TempDir dir;
  Mapping memory(8u << 20);
  std::string path = write_one_region(dir, memory, 0x7e0000000000, &zstd, 1u << 20);
  ImageReader reader(path);
  Image image = reader.load();
  EXPECT_EQ(image.pages.size(), 9u);  // (1 MiB - 56) rounds down to 255 pages per record
  expect_memory_delivered(path, memory, 0x7e0000000000);
}

// The parallel writer: workers compress 2 MiB chunks and the writer writes them in order; with
// memory that only partly compresses, and a last chunk that does not, records stay in address order,
// compressed or raw, and deliver exactly the memory.
TEST(RoundTrip, WorkerThreadsCompressChunksInOrder) {
  ZstdWorkspace zstd(1, 3);
  if (!zstd.available()) {
    GTEST_SKIP() << zstd.error();
  }
  TempDir dir;
  Mapping memory(21u << 20);  // 10 chunks and a half: more than the 6 job slots
  for (size_t i = 0; i < memory.size(); i += 64) {
    memory.data()[i] = static_cast<std::byte>(i / 4096);
  }
  for (size_t i = 20u << 20; i < memory.size(); i += 4096) {
    Bytes page = random_page(static_cast<uint32_t>(i));
    std::memcpy(memory.data() + i, page.data(), page.size());
  }
  uint64_t address = 0x7e0000000000;
  std::string path = write_one_region(dir, memory, address, &zstd);
  EXPECT_EQ(zstd.running_workers(), 0);  // the writer stopped them
  ImageReader reader(path);
  Image image = reader.load();
  ASSERT_EQ(image.pages.size(), 11u);
  uint64_t expected = address;
  for (size_t i = 0; i < image.pages.size(); ++i) {
    const PagesRef& ref = image.pages[i];
    EXPECT_EQ(ref.address, expected);
    EXPECT_EQ(ref.length, i < 10 ? ZstdWorkspace::kParallelChunk : 1u << 20);
    EXPECT_EQ(ref.flags & kRecordZstd, i < 10 ? kRecordZstd : 0);
    expected += ref.length;
  }
  expect_memory_delivered(path, memory, address);
}

// Smooth doubles, as HPC arrays hold: byte-shuffled, zstd keeps far fewer bytes of them, in the
// writer's thread and in its workers alike, and the reader delivers the memory exactly. Without the
// shuffle (the workspace's choice) no record says it is shuffled.
TEST(RoundTrip, ShuffledDoublesCompressSmaller) {
  if (!ZstdWorkspace().available()) {
    GTEST_SKIP() << "no zstd";
  }
  Mapping memory(6u << 20);
  auto* values = reinterpret_cast<double*>(memory.data());
  for (size_t i = 0; i < memory.size() / sizeof(double); ++i) {
    values[i] = 1.0 + std::sin(static_cast<double>(i) * 1e-7) + static_cast<double>(i % 512) * 1e-9;
  }
  uint64_t address = 0x7e0000000000;
  auto stored = [&](int threads, bool shuffle, uint16_t* flags_seen) {
    TempDir dir;
    ZstdWorkspace zstd(1, threads, shuffle);
    std::string path = write_one_region(dir, memory, address, &zstd, 1u << 20);
    Image image = ImageReader(path).load();
    uint64_t total = 0;
    *flags_seen = 0;
    for (const PagesRef& ref : image.pages) {
      total += ref.stored_size;
      *flags_seen |= ref.flags;
    }
    expect_memory_delivered(path, memory, address);
    return total;
  };
  uint16_t plain_flags = 0, serial_flags = 0, parallel_flags = 0;
  uint64_t plain = stored(1, false, &plain_flags);
  uint64_t serial = stored(1, true, &serial_flags);
  uint64_t parallel = stored(3, true, &parallel_flags);
  EXPECT_EQ(plain_flags, kRecordZstd);
  EXPECT_EQ(serial_flags, kRecordZstd | kRecordShuffle8);
  EXPECT_EQ(parallel_flags, kRecordZstd | kRecordShuffle8);
  EXPECT_LT(serial, plain * 3 / 4) << serial << " vs " << plain;
  EXPECT_LT(parallel, plain * 3 / 4) << parallel << " vs " << plain;
}

TEST(Names, KindsHaveNames) {
  EXPECT_EQ(record_kind_name(RecordKind::Thread), "Thread");
  EXPECT_EQ(record_kind_name(static_cast<RecordKind>(99)), "unknown");
  EXPECT_EQ(region_kind_name(RegionKind::AnonPrivate), "anon-private");
  EXPECT_EQ(region_kind_name(RegionKind::DeletedFile), "deleted-file");
  EXPECT_EQ(fd_kind_name(FdKind::PipeRead), "pipe-read");
  EXPECT_EQ(fd_kind_name(FdKind::UnixPair), "unix-pair");
  EXPECT_EQ(socket_type_name(kSocketSeqpacket), "seqpacket");
  EXPECT_FALSE(known(static_cast<SocketType>(3)));
  EXPECT_EQ(special_map_name(SpecialMapKind::Vdso), "vdso");
}

TEST(Checksum, StreamingEqualsOneShot) {
  Bytes data = random_page(3);
  PayloadHash hash;
  hash.update(data.data(), 100);
  hash.update(data.data() + 100, 0);
  hash.update(data.data() + 100, data.size() - 100);
  EXPECT_EQ(hash.digest(), payload_hash(data.data(), data.size()));
}

}  // namespace
}  // namespace crcore::image::testing
