// RecordWriter's contract: errors come back as -errno (ENOSPC included), misuse is refused without
// writing anything, and short writes and EINTR lose no byte.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "image/image_reader.h"
#include "image/record_writer.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::open(dir_.file("w.ctx").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { ::close(fd_); }
  // Writes Process..Rlimits of the small spec.
  void write_singletons(RecordWriter& writer) {
    for (const RawRecord& r : raw_records(small_spec())) {
      if (r.kind == RecordKind::Thread) {
        break;
      }
      ASSERT_EQ(writer.record(r.kind, {{r.payload.data(), r.payload.size()}}), 0);
    }
  }

  TempDir dir_;
  int fd_ = -1;
  Bytes scratch_ = Bytes(RecordWriter::kMinScratch);
};

TEST(WriterEnospc, FullDeviceSurfacesAsEnospc) {
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Bytes scratch(RecordWriter::kMinScratch);
  RecordWriter writer(fd, scratch, nullptr);
  ASSERT_EQ(writer.begin(FileHeader{}), 0);  // buffered: nothing written yet
  for (const RawRecord& r : raw_records(small_spec())) {
    if (r.kind != RecordKind::Pages) {
      ASSERT_EQ(writer.record(r.kind, {{r.payload.data(), r.payload.size()}}), 0);
    }
  }
  Bytes memory(1u << 20);
  EXPECT_EQ(writer.pages(0x600000, memory.data(), memory.size()), -ENOSPC);
  // The error sticks: every later call reports it.
  EXPECT_EQ(writer.pages(0x800000, memory.data(), 4096), -ENOSPC);
  EXPECT_EQ(writer.end(), -ENOSPC);
  ::close(fd);
}

TEST(WriterEnospc, EndAloneSurfacesEnospc) {
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Bytes scratch(RecordWriter::kMinScratch);
  RecordWriter writer(fd, scratch, nullptr);
  ASSERT_EQ(writer.begin(FileHeader{}), 0);
  for (const RawRecord& r : raw_records(small_spec())) {
    if (r.kind != RecordKind::Pages) {
      ASSERT_EQ(writer.record(r.kind, {{r.payload.data(), r.payload.size()}}), 0);
    }
  }
  EXPECT_EQ(writer.end(), -ENOSPC);
  ::close(fd);
}

TEST_F(WriterTest, RefusesASmallScratch) {
  Bytes small(RecordWriter::kMinScratch - 1);
  RecordWriter writer(fd_, small, nullptr);
  EXPECT_EQ(writer.begin(FileHeader{}), -EINVAL);
}

TEST_F(WriterTest, RefusesAParentMismatchAndOddPageSizes) {
  FileHeader header{};
  header.flags = kFileIncremental;  // incremental, but no parent named
  EXPECT_EQ(RecordWriter(fd_, scratch_, nullptr).begin(header), -EINVAL);
  header.flags = 0;
  header.parent_id[3] = 7;  // a parent, but not incremental
  EXPECT_EQ(RecordWriter(fd_, scratch_, nullptr).begin(header), -EINVAL);
  header.parent_id[3] = 0;
  header.page_size = 65536;
  EXPECT_EQ(RecordWriter(fd_, scratch_, nullptr).begin(header), -EINVAL);
}

TEST_F(WriterTest, ZeroFillOnlyInIncrementalImages) {
  RecordWriter full(fd_, scratch_, nullptr);
  ASSERT_EQ(full.begin(FileHeader{}), 0);
  EXPECT_EQ(full.zero_pages(0x10000, 4096), -EINVAL);
}

TEST_F(WriterTest, RefusesRecordsBeforeBeginAndAfterEnd) {
  RecordWriter writer(fd_, scratch_, nullptr);
  uint64_t x = 0;
  EXPECT_EQ(writer.record(RecordKind::Process, {{&x, sizeof x}}), -EINVAL);
  ASSERT_EQ(writer.begin(FileHeader{}), 0);
  EXPECT_EQ(writer.begin(FileHeader{}), -EINVAL);
}

TEST_F(WriterTest, RefusesOutOfOrderRecords) {
  RecordWriter writer(fd_, scratch_, nullptr);
  ASSERT_EQ(writer.begin(FileHeader{}), 0);
  uint64_t x = 0;
  EXPECT_EQ(writer.record(RecordKind::Mm, {{&x, sizeof x}}), -EINVAL);  // Process first
  EXPECT_EQ(writer.end(), -EINVAL);                                     // nothing written yet
  write_singletons(writer);
  EXPECT_EQ(writer.record(RecordKind::Process, {{&x, sizeof x}}), -EINVAL);  // a second Process
  EXPECT_EQ(writer.record(RecordKind::Pages, {{&x, sizeof x}}), -EINVAL);    // pages() writes Pages
  EXPECT_EQ(writer.record(RecordKind::End, {{&x, sizeof x}}), -EINVAL);      // end() writes End
  EXPECT_EQ(writer.record(static_cast<RecordKind>(77), {{&x, sizeof x}}), -EINVAL);
  ASSERT_EQ(writer.record(RecordKind::Fd, {{&x, sizeof x}}), 0);
  EXPECT_EQ(writer.record(RecordKind::Thread, {{&x, sizeof x}}), -EINVAL);  // back to Thread
  ASSERT_EQ(writer.end(), 0);
  EXPECT_EQ(writer.record(RecordKind::FdData, {{&x, sizeof x}}), -EINVAL);
}

TEST_F(WriterTest, RefusesOversizedRecordsAndUnalignedPages) {
  RecordWriter writer(fd_, scratch_, nullptr);
  ASSERT_EQ(writer.begin(FileHeader{}), 0);
  Bytes big(kMaxMetaPayload + 1);
  EXPECT_EQ(writer.record(RecordKind::Process, {{big.data(), big.size()}}), -EMSGSIZE);
  EXPECT_EQ(writer.record(RecordKind::Process, {{big.data(), 8}, {big.data(), kMaxMetaPayload}}), -EMSGSIZE);
  write_singletons(writer);
  Bytes page(8192);
  EXPECT_EQ(writer.pages(0x600001, page.data(), 4096), -EINVAL);
  EXPECT_EQ(writer.pages(0x600000, page.data(), 4095), -EINVAL);
  EXPECT_EQ(writer.pages(0x600000, page.data(), 0), 0);
  EXPECT_EQ(writer.records(), 4u);
}

TEST_F(WriterTest, LargeMetadataRecordsBypassTheScratch) {
  // A Process record larger than the scratch is written directly (writev of header and pieces).
  ImageSpec spec = small_spec();
  spec.environ_block.assign(600 * 1024, 'x');
  spec.finish();
  std::string path = dir_.file("big-env.ctx");
  ASSERT_EQ(write_image(spec, path), 0);
  ImageReader reader(path);
  Image image = reader.load();
  ASSERT_EQ(image.environment.size(), 1u);
  EXPECT_EQ(image.environment[0].size(), 600u * 1024);
}

void ignore_signal(int) {}

// small_spec() with `bytes` as one Pages record at 0x600000 (its region grown to hold them).
ImageSpec spec_with_pages(const Bytes& bytes) {
  ImageSpec spec = small_spec();
  spec.regions[1].first.end = 0x600000 + bytes.size();
  spec.pages = {{0x600000, bytes}};
  spec.finish();
  return spec;
}

// A blocking pipe, a slow reader and a stream of signals without SA_RESTART: the writer sees short
// writes and EINTR, and the bytes must still come out exactly as written to a file.
TEST(WriterInterrupted, ShortWritesAndEintrLoseNothing) {
  TempDir dir;
  Bytes big(2u << 20);
  for (size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<std::byte>(i * 7 + i / 4096);
  }
  ImageSpec spec = spec_with_pages(big);
  ASSERT_EQ(write_image(spec, dir.file("reference.ctx")), 0);
  Bytes expected = read_file(dir.file("reference.ctx"));

  struct sigaction action {};
  action.sa_handler = ignore_signal;  // no SA_RESTART: blocked writes return early
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &old), 0);

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  Bytes received;
  std::thread reader([&] {
    std::byte buffer[3000];
    for (;;) {
      ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
      if (n <= 0) {
        break;
      }
      received.insert(received.end(), buffer, buffer + n);
      usleep(20);
    }
  });
  std::atomic<bool> done{false};
  pthread_t writer_thread = pthread_self();
  std::thread interrupter([&] {
    while (!done) {
      pthread_kill(writer_thread, SIGUSR1);
      usleep(50);
    }
  });

  int rc = write_image_to(spec, pipe_fds[1]);  // fsync on a pipe: EINVAL, ignored
  done = true;
  interrupter.join();
  ::close(pipe_fds[1]);
  reader.join();
  ::close(pipe_fds[0]);
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected);
}

// Into a regular file, long Pages records are written headers-last (pwrite at the record's place):
// the bytes are those of an in-order write, also when the image does not start at offset 0 and when
// the file is opened O_APPEND (where pwrite would append: written in order then).
TEST(WriterHeadersLast, SameBytesAtAnyStartAndWithAppend) {
  TempDir dir;
  Bytes big((1u << 20) + 3 * 4096);  // 8 slices and a short one
  for (size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<std::byte>(i * 13 + i / 4096);
  }
  ImageSpec spec = spec_with_pages(big);
  ASSERT_EQ(write_image(spec, dir.file("reference.ctx")), 0);
  Bytes expected = read_file(dir.file("reference.ctx"));
  ImageReader check(dir.file("reference.ctx"));
  Image loaded = check.load();
  ASSERT_EQ(loaded.pages.size(), 1u);

  const std::string prefix = "not an image: 17 bytes";
  for (int flags : {O_WRONLY | O_CREAT | O_TRUNC, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND}) {
    std::string path = dir.file("prefixed.ctx");
    int fd = ::open(path.c_str(), flags, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, prefix.data(), prefix.size()), static_cast<ssize_t>(prefix.size()));
    int rc = write_image_to(spec, fd);
    ::close(fd);
    ASSERT_EQ(rc, 0) << flags;
    Bytes got = read_file(path);
    ASSERT_EQ(got.size(), prefix.size() + expected.size()) << flags;
    EXPECT_EQ(memcmp(got.data(), prefix.data(), prefix.size()), 0) << flags;
    EXPECT_TRUE(Bytes(got.begin() + static_cast<std::ptrdiff_t>(prefix.size()), got.end()) == expected) << flags;
  }
}

// Records hashed by the second thread (hash_ahead.h) are byte for byte those hashed in the writer's
// thread: long and short records, lengths that are not whole slices, one thread for many records.
TEST(WriterHashThread, SameBytesAsHashingInPlace) {
  TempDir dir;
  ImageSpec spec = small_spec();
  // (length) of each record, one after the other: long ones the thread takes, one below its
  // minimum, one page.
  uint64_t address = 0x600000;
  for (size_t length :
       {size_t{4} << 20, (size_t{1} << 20) + 3 * 4096, size_t{256} << 10, size_t{4096}, (size_t{3} << 20) + 4 * 4096}) {
    Bytes bytes(length);
    for (size_t i = 0; i < length; ++i) {
      bytes[i] = static_cast<std::byte>(i * 31 + i / 4096 + address / 4096);
    }
    spec.pages.insert(spec.pages.end() - 1, {address, std::move(bytes)});  // before the stack's page
    address += length;
  }
  spec.pages.erase(spec.pages.begin(), spec.pages.begin() + 2);  // the heap's own two pages
  spec.regions[1].first.end = address;
  spec.finish();
  ASSERT_EQ(write_image(spec, dir.file("in_place.ctx")), 0);
  int fd = ::open(dir.file("threaded.ctx").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  int rc = write_image_to(spec, fd, nullptr, true);
  ::close(fd);
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(read_file(dir.file("threaded.ctx")) == read_file(dir.file("in_place.ctx")));
  Image loaded = ImageReader(dir.file("threaded.ctx")).load();  // every hash verified
  EXPECT_EQ(loaded.pages.size(), spec.pages.size());
}

// A write that fails in the middle of a record the thread is hashing: the error comes back, and the
// writer does not return (or end) before the thread has let go of the memory.
TEST(WriterHashThread, FailedWriteWaitsForTheThread) {
  TempDir dir;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old), 0);  // EFBIG instead of the signal
  struct rlimit limit {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &limit), 0);
  struct rlimit small = limit;
  small.rlim_cur = 3u << 20;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  int fd = ::open(dir.file("limited.ctx").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  {
    Bytes memory(8u << 20, std::byte{0x5a});
    Bytes scratch(RecordWriter::kMinScratch);
    RecordWriter writer(fd, scratch, nullptr);
    writer.allow_hash_thread(true);
    ASSERT_EQ(writer.begin(FileHeader{}), 0);
    for (const RawRecord& r : raw_records(small_spec())) {
      if (r.kind == RecordKind::Thread) {
        break;
      }
      ASSERT_EQ(writer.record(r.kind, {{r.payload.data(), r.payload.size()}}), 0);
    }
    EXPECT_EQ(writer.pages(0x10000000, memory.data(), memory.size()), -EFBIG);
    EXPECT_TRUE(writer.hash_thread_running());
    EXPECT_EQ(writer.pages(0x20000000, memory.data(), memory.size()), -EFBIG);  // the error sticks
  }  // the writer, then the memory, go away: the thread is gone before either
  ::close(fd);
  setrlimit(RLIMIT_FSIZE, &limit);
  sigaction(SIGXFSZ, &old, nullptr);
}

TEST(ZstdWorkspace, LevelsAndAvailability) {
  ZstdWorkspace fast;
#if CRCORE_HAVE_ZSTD
  EXPECT_TRUE(fast.available()) << fast.error();
  EXPECT_EQ(fast.level(), 1);
  EXPECT_GT(fast.memory_size(), 0u);
  ZstdWorkspace strong(9);
  EXPECT_TRUE(strong.available());
  EXPECT_GT(strong.memory_size(), fast.memory_size());
  ZstdWorkspace bad(1000);
  EXPECT_FALSE(bad.available());
  EXPECT_NE(bad.error(), nullptr);
  Bytes zeros(65536);
  Bytes out(65536);
  size_t n = fast.compress(out.data(), out.size(), zeros.data(), zeros.size());
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, 100u);
  EXPECT_EQ(fast.compress(out.data(), 4, zeros.data(), zeros.size()), 0u);  // does not fit
#else
  EXPECT_FALSE(fast.available());
  EXPECT_NE(fast.error(), nullptr);
#endif
}

}  // namespace
}  // namespace crcore::image::testing
