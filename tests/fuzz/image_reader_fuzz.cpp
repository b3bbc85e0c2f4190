// libFuzzer target of the image reader: ImageReader::load() and then, when the image was accepted,
// ImageReader::for_each_pages() with a callback that reads every byte it is given.
//
// Each input is written to a memfd and read back through /proc/self/fd/N, as cr_restart reads a
// file. ImageError is the expected outcome for a bad input. Anything else is a finding: a crash, a
// sanitizer report, another exception type, a huge allocation (run with -malloc_limit_mb), a timeout,
// or an accepted image that breaks what load() promises (checked below, see check_accepted).
//
// Every input is tried twice: as it is, and "repaired": the file header check, every record's
// header_check and payload_hash and the End record's counts recomputed. Random mutations almost
// never keep an XXH3 right, so without the repaired pass the fuzzer would only ever exercise the
// checksum checks; with it, every semantic rule behind them is reached.
//
// A finding's stack trace shows read_as_is or read_repaired: the input as it is, or repaired (then
// CRCORE_FUZZ_SAVE_REPAIRED=FILE, below, gives the bytes that the reader saw).
//
// scripts/fuzz.sh builds and runs it; docs/reliability.md ("Fuzzing") says how.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "image/checksum.h"
#include "image/format.h"
#include "image/image.h"
#include "image/image_error.h"
#include "image/image_reader.h"

namespace {

using namespace crcore::image;

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "image_reader_fuzz: FINDING: %s: %s\n", what, detail.c_str());
  std::abort();
}

int input_fd() {
  static int fd = [] {
    int made = memfd_create("crcore-fuzz-image", MFD_CLOEXEC);
    if (made < 0) {
      std::perror("image_reader_fuzz: memfd_create");
      std::exit(1);
    }
    return made;
  }();
  return fd;
}

void write_input(const uint8_t* data, size_t size) {
  int fd = input_fd();
  if (ftruncate(fd, 0) != 0) {
    std::perror("image_reader_fuzz: ftruncate");
    std::exit(1);
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) {
      std::perror("image_reader_fuzz: pwrite");
      std::exit(1);
    }
    done += static_cast<size_t>(n);
  }
}

// What load() promises about an image it accepted (docs/image-format.md, "Validation"), checked
// independently of the reader's own code.
void check_accepted(const Image& image) {
  if (image.threads.size() != image.process.thread_count || image.threads.empty() ||
      image.threads.size() > kMaxThreads) {
    finding("accepted", "thread count");
  }
  if (image.regions.size() != image.process.region_count || image.fds.size() != image.process.fd_count) {
    finding("accepted", "region or fd count");
  }
  uint64_t previous_end = 0;
  for (const RegionEntry& r : image.regions) {
    if (r.record.start % 4096 != 0 || r.record.end % 4096 != 0 || r.record.start >= r.record.end ||
        r.record.end > kUserAddressLimit || r.record.start < previous_end || r.path.size() != r.record.path_len) {
      finding("accepted", "a region out of range, unsorted or overlapping");
    }
    previous_end = r.record.end;
  }
  for (const FdEntry& f : image.fds) {
    if (f.record.fd < 0 || static_cast<uint32_t>(f.record.fd) >= kMaxFdNumber) {
      finding("accepted", "an fd number out of range");
    }
  }
  for (const PagesRef& p : image.pages) {
    if (p.length == 0 || p.length % 4096 != 0 || p.length > kMaxPagesPayload || p.address % 4096 != 0 ||
        p.payload_offset + p.stored_size > image.file_size) {
      finding("accepted", "a Pages record of a bad size or place");
    }
  }
}

// Runs the reader over the current memfd contents.
void read_image() {
  std::string path = "/proc/self/fd/" + std::to_string(input_fd());
  try {
    ImageReader reader(path);
    Image image = reader.load();
    check_accepted(image);
    // Every piece must lie in its record's range, inside a region of the image; every byte is read.
    size_t next = 0;  // the PagesRef being delivered
    uint64_t delivered = 0;
    volatile uint8_t sink = 0;
    uint8_t sum = 0;
    reader.for_each_pages(image, [&](uint64_t address, std::span<const std::byte> bytes) {
      while (next < image.pages.size() && delivered == image.pages[next].length) {
        ++next;
        delivered = 0;
      }
      if (next >= image.pages.size()) {
        finding("for_each_pages", "more pieces than Pages records");
      }
      const PagesRef& ref = image.pages[next];
      if (address != ref.address + delivered || bytes.size() > ref.length - delivered) {
        finding("for_each_pages", "a piece outside its record's range");
      }
      delivered += bytes.size();
      for (std::byte b : bytes) {
        sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(b));
      }
    });
    sink = sum;
    (void)sink;
  } catch (const ImageError&) {
    // The expected outcome for a bad image (for_each_pages may still refuse a zstd frame that
    // load() does not decompress).
  } catch (const std::exception& e) {
    finding("an exception other than ImageError", e.what());
  } catch (...) {
    finding("an exception other than ImageError", "not a std::exception");
  }
}

template <typename T>
T load_at(const std::vector<uint8_t>& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

template <typename T>
void store_at(std::vector<uint8_t>& bytes, size_t offset, const T& value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// Recomputes every checksum (and the End record's counts) along the record framing as far as it
// holds: a record whose magic is wrong, and everything after it, is left alone.
void repair(std::vector<uint8_t>& bytes) {
  if (bytes.size() < sizeof(FileHeader)) {
    return;
  }
  auto header = load_at<FileHeader>(bytes, 0);
  header.header_check = file_header_check(header);
  store_at(bytes, 0, header);

  size_t offset = sizeof(FileHeader);
  uint64_t index = 0;
  uint64_t pages_bytes = 0;
  while (bytes.size() - offset >= sizeof(RecordHeader)) {
    auto record = load_at<RecordHeader>(bytes, offset);
    if (record.magic != kRecordMagic) {
      return;
    }
    size_t payload = offset + sizeof record;
    size_t stored = static_cast<size_t>(std::min<uint64_t>(record.stored_size, bytes.size() - payload));
    auto kind = static_cast<RecordKind>(record.kind);
    if (kind == RecordKind::Pages && stored >= sizeof(PagesHeader)) {
      pages_bytes += load_at<PagesHeader>(bytes, payload).length;
    }
    if (kind == RecordKind::End && stored == sizeof(EndRecord)) {
      store_at(bytes, payload, EndRecord{index, pages_bytes, offset});
    }
    record.payload_hash = payload_hash(bytes.data() + payload, stored);
    record.header_check = record_header_check(record);
    store_at(bytes, offset, record);
    offset = payload + stored;
    ++index;
  }
}

// The two passes, as separate frames so that a finding's stack trace says which one it was.
[[gnu::noinline]] void read_as_is(const uint8_t* data, size_t size) {
  write_input(data, size);
  read_image();
}

// CRCORE_FUZZ_SAVE_REPAIRED=FILE: also writes the repaired input to FILE (the bytes to put in a
// regression test when a finding's stack trace shows read_repaired).
[[gnu::noinline]] void read_repaired(const std::vector<uint8_t>& repaired) {
  if (const char* save = std::getenv("CRCORE_FUZZ_SAVE_REPAIRED"); save != nullptr) {
    if (FILE* out = std::fopen(save, "wb"); out != nullptr) {
      std::fwrite(repaired.data(), 1, repaired.size(), out);
      std::fclose(out);
    }
  }
  write_input(repaired.data(), repaired.size());
  read_image();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read_as_is(data, size);
  std::vector<uint8_t> repaired(data, data + size);
  repair(repaired);
  if (size != 0 && std::memcmp(repaired.data(), data, size) != 0) {
    read_repaired(repaired);
  }
  return 0;
}
