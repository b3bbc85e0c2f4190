#include "image/image_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "image/checksum.h"
#include "image/file_stream.h"
#include "image/kind_names.h"
#include "image/pages_stream.h"
#include "image/payload_check.h"
#include "image/record_decode.h"
#include "image/record_order.h"

#if CRCORE_HAVE_ZSTD
#include <zstd.h>
#endif

namespace crcore::image {
namespace {

constexpr uint64_t kPageSize = 4096;

[[noreturn]] void fail(const std::string& path, const RecordAt& at, std::string_view message) {
  throw image_error(path, at, message);
}

[[noreturn]] void fail(const std::string& path, std::string_view message) { throw image_error(path, message); }

bool all_zero(const uint8_t* bytes, size_t n) {
  return std::all_of(bytes, bytes + n, [](uint8_t b) { return b == 0; });
}

void check_file_header(const std::string& path, const FileHeader& h) {
  if (std::memcmp(h.magic, kFileMagic, sizeof h.magic) != 0) {
    fail(path, "not a crcore image (bad magic)");
  }
  if (h.version < kOldestImageVersion || h.version > kImageVersion) {
    fail(path, fmt::format("version {} is not supported (this crcore reads versions {} to {})", h.version,
                           kOldestImageVersion, kImageVersion));
  }
  if (h.header_size != sizeof(FileHeader)) {
    fail(path, fmt::format("file header size {} is not {}", h.header_size, sizeof(FileHeader)));
  }
  if (h.header_check != file_header_check(h)) {
    fail(path, "file header checksum mismatch");
  }
  if (h.arch != kArchX86_64) {
    fail(path, fmt::format("architecture {} is not x86-64", h.arch));
  }
  if (h.page_size != kPageSize) {
    fail(path, fmt::format("page size {} is not supported (only {})", h.page_size, kPageSize));
  }
  if ((h.flags & ~uint32_t{kFileScopeMember | kFileIncremental}) != 0) {
    fail(path, fmt::format("unknown file flags {:#x}", h.flags));
  }
  bool incremental = (h.flags & kFileIncremental) != 0;
  if (incremental && h.version < 3) {
    fail(path, fmt::format("an incremental image of version {} (incremental images are version 3)", h.version));
  }
  if (!incremental && !all_zero(h.parent_id, sizeof h.parent_id)) {
    fail(path, "parent_id is set in an image that is not incremental");
  }
  if (incremental && all_zero(h.parent_id, sizeof h.parent_id)) {
    fail(path, "an incremental image without a parent_id");
  }
}

// Whether a record header is intact; an error message or "".
std::string check_record_integrity(const RecordHeader& h) {
  if (h.magic != kRecordMagic) {
    return fmt::format("bad record magic {:#x}", h.magic);
  }
  if (h.header_check != record_header_check(h)) {
    return "record header checksum mismatch";
  }
  return "";
}

// The framing rules of an intact record header; an error message or "".
std::string check_record_header(const RecordHeader& h) {
  auto kind = static_cast<RecordKind>(h.kind);
  if (!known(kind)) {
    return fmt::format("unknown record kind {}", h.kind);
  }
  if (h.reserved != 0) {
    return "reserved field is not zero";
  }
  if ((h.flags & ~uint16_t{kRecordZstd | kRecordZeroFill | kRecordShuffle8}) != 0) {
    return fmt::format("unknown record flags {:#x}", h.flags);
  }
  bool zstd = (h.flags & kRecordZstd) != 0;
  if ((h.flags & kRecordShuffle8) != 0 && !zstd) {
    return "only compressed Pages records may be byte-shuffled";
  }
  if (zstd && kind != RecordKind::Pages) {
    return "only Pages records may be compressed";
  }
  if ((h.flags & kRecordZeroFill) != 0) {
    if (kind != RecordKind::Pages || zstd) {
      return "only uncompressed Pages records may be zero-fill records";
    }
    if (h.raw_size != sizeof(PagesHeader) || h.stored_size != sizeof(PagesHeader)) {
      return fmt::format("a zero-fill record's payload is {} bytes, not the {}-byte PagesHeader", h.raw_size,
                         sizeof(PagesHeader));
    }
  }
  uint64_t limit = kMaxMetaPayload;
  if (kind == RecordKind::Pages) {
    limit = sizeof(PagesHeader) + kMaxPagesPayload;
  } else if (kind == RecordKind::FdData) {
    limit = sizeof(FdDataHeader) + kMaxFdDataPayload;
  } else if (kind == RecordKind::Resource) {
    limit = sizeof(ResourceHeader) + kMaxFdDataPayload;  // a memfd's or deleted file's contents
  }
  if (h.raw_size > limit) {
    return fmt::format("payload of {} bytes is above the limit of {} for this kind", h.raw_size, limit);
  }
  if (!zstd && h.stored_size != h.raw_size) {
    return fmt::format("stored_size {} differs from raw_size {} in an uncompressed record", h.stored_size, h.raw_size);
  }
  if (zstd && (h.stored_size <= sizeof(PagesHeader) || h.stored_size >= h.raw_size)) {
    return fmt::format("compressed stored_size {} is not between {} and raw_size {}", h.stored_size,
                       sizeof(PagesHeader), h.raw_size);
  }
  if (kind == RecordKind::Pages && h.raw_size < sizeof(PagesHeader)) {
    return fmt::format("payload of {} bytes is shorter than a PagesHeader", h.raw_size);
  }
  return "";
}

// Tracks the record order of record_order.h and the section counts of the ProcessRecord.
class OrderCheck {
 public:
  // An error message, or "" when a record of this kind may come next.
  std::string admit(RecordKind kind, const Image& image) const {
    int rank = record_rank(kind);
    if (last_rank_ < 0 && kind != RecordKind::Process) {
      return "the first record must be Process";
    }
    if (rank < last_rank_) {
      return fmt::format("out of order: {} after {}", record_kind_name(kind),
                         record_kind_name(kRecordOrder[last_rank_]));
    }
    if (rank == last_rank_ && record_is_singleton(kind)) {
      return fmt::format("a second {} record", record_kind_name(kind));
    }
    // Every section before this kind must be complete.
    for (int r = 0; r < rank; ++r) {
      if (std::string missing = incomplete(r, image); !missing.empty()) {
        return fmt::format("{} record before {}", record_kind_name(kind), missing);
      }
    }
    return overflow(kind, image);
  }
  void accept(RecordKind kind) {
    last_rank_ = record_rank(kind);
    seen_ |= 1u << last_rank_;
  }

 private:
  // What is missing of the section of rank r, or "".
  std::string incomplete(int r, const Image& image) const {
    RecordKind kind = kRecordOrder[r];
    auto count = [&](size_t have, uint32_t want) -> std::string {
      if (have == want) {
        return "";
      }
      return fmt::format("all {} {} records (found {})", want, record_kind_name(kind), have);
    };
    switch (kind) {
      case RecordKind::Thread:
        return count(image.threads.size(), image.process.thread_count);
      case RecordKind::Region:
        return count(image.regions.size(), image.process.region_count);
      case RecordKind::Fd:
        return count(image.fds.size(), image.process.fd_count);
      default:
        if (record_is_singleton(kind) && (seen_ & (1u << r)) == 0) {
          return fmt::format("the {} record", record_kind_name(kind));
        }
        return "";
    }
  }
  // A message when a counted section would get more records than the ProcessRecord says.
  static std::string overflow(RecordKind kind, const Image& image) {
    auto more = [&](size_t have, uint32_t want) -> std::string {
      if (have < want) {
        return "";
      }
      return fmt::format("more {} records than the {} the ProcessRecord counts", record_kind_name(kind), want);
    };
    switch (kind) {
      case RecordKind::Thread:
        return more(image.threads.size(), image.process.thread_count);
      case RecordKind::Region:
        return more(image.regions.size(), image.process.region_count);
      case RecordKind::Fd:
        return more(image.fds.size(), image.process.fd_count);
      default:
        return "";
    }
  }

  int last_rank_ = -1;
  uint32_t seen_ = 0;  // bit r: a record of rank r was accepted
};

}  // namespace

ImageReader::ImageReader(std::string path) : path_(std::move(path)) {
  fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_.valid()) {
    fail(path_, fmt::format("cannot open: {}", std::strerror(errno)));
  }
}

namespace {

// The open file as fstat sees it now.
FileIdentity identity_now(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  }
  return FileIdentity::of(st);
}

// Why the entry of `proof` closest to `now` does not name it.
std::string no_entry_reason(const ValidationProof& proof, const FileIdentity& now) {
  const ValidatedFile* same_inode = nullptr;
  for (const ValidatedFile& v : proof) {
    if (v.file.dev == now.dev && v.file.ino == now.ino) {
      same_inode = &v;
    }
  }
  if (same_inode == nullptr) {
    return fmt::format(
        "the proof names no file with this device and inode (replaced since it was checked?): "
        "the file now is {}",
        now.describe());
  }
  return fmt::format("changed since it was checked: it was {}, it now is {}", same_inode->file.describe(),
                     now.describe());
}

}  // namespace

Image ImageReader::load() { return load_file(false); }

Image ImageReader::load_without_page_checksums() { return load_file(true); }

Image ImageReader::load(const ValidationProof& proof) {
  FileIdentity before = identity_now(fd_.get(), path_);
  auto entry = std::find_if(proof.begin(), proof.end(), [&](const ValidatedFile& v) { return v.file == before; });
  std::string reason;
  if (entry == proof.end()) {
    reason = no_entry_reason(proof, before);
  } else {
    try {
      Image image = load_file(true);
      if (std::memcmp(image.header.image_id, entry->image_id.data(), entry->image_id.size()) != 0) {
        reason = "its image id is not the one the proof names";
      } else if (image.end_hash != entry->end_hash) {
        reason = "its End record is not the one the proof names";
      } else if (FileIdentity after = identity_now(fd_.get(), path_); after != before) {
        reason = "it changed while it was read (it now is " + after.describe() + ")";
      } else {
        image.pages_trusted = true;
        return image;
      }
    } catch (const ImageError& e) {
      reason = std::string("it does not read as the file the proof names: ") + e.what();
    }
  }
  try {
    Image image = load_file(false);
    image.proof_mismatch = reason;
    return image;
  } catch (const ImageError& e) {
    throw ImageError(std::string(e.what()) + " (the validation proof given did not apply: " + reason + ")");
  }
}

Image ImageReader::load_file(bool trust_pages) {
  validated_.reset();
  struct stat st;
  if (fstat(fd_.get(), &st) != 0) {
    fail(path_, fmt::format("cannot stat: {}", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    fail(path_, "not a regular file");
  }
  timespec clock_at_start{};
  clock_gettime(CLOCK_REALTIME_COARSE, &clock_at_start);
  Image image;
  image.path = path_;
  image.file_size = static_cast<uint64_t>(st.st_size);
  image.identity = FileIdentity::of(st);
  FileStream stream(fd_.get(), path_, image.file_size);
  if (!trust_pages) {
    (void)posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }

  if (image.file_size < sizeof(FileHeader)) {
    if (image.file_size >= sizeof image.header.magic) {
      stream.read(image.header.magic, sizeof image.header.magic);
      if (std::memcmp(image.header.magic, kFileMagic, sizeof kFileMagic) != 0) {
        fail(path_, "not a crcore image (bad magic)");
      }
    }
    fail(path_,
         fmt::format("truncated: {} bytes, shorter than the {}-byte file header", image.file_size, sizeof(FileHeader)));
  }
  stream.read(&image.header, sizeof image.header);
  check_file_header(path_, image.header);

  OrderCheck order;
  PayloadCheck payloads;
  uint64_t pages_bytes = 0;
  std::vector<std::byte> payload;
  for (uint64_t index = 0;; ++index) {
    RecordAt at{index, 0, stream.offset()};
    if (stream.remaining() == 0) {
      fail(path_, fmt::format("truncated: no End record (the file ends after {} records)", index));
    }
    if (stream.remaining() < sizeof(RecordHeader)) {
      fail(path_, fmt::format("truncated: no End record ({}: only {} of the {} header bytes)", describe(at),
                              stream.remaining(), sizeof(RecordHeader)));
    }
    RecordHeader header;
    stream.read(&header, sizeof header);
    if (std::string problem = check_record_integrity(header); !problem.empty()) {
      fail(path_, at, problem);
    }
    at.kind = header.kind;
    if (std::string problem = check_record_header(header); !problem.empty()) {
      fail(path_, at, problem);
    }
    auto kind = static_cast<RecordKind>(header.kind);
    if (header.stored_size > stream.remaining()) {
      fail(path_, fmt::format("truncated: {}: payload of {} bytes but only {} left in the file", describe(at),
                              header.stored_size, stream.remaining()));
    }
    if (std::string problem = order.admit(kind, image); !problem.empty()) {
      fail(path_, at, problem);
    }

    PayloadHash hash;
    try {
      PagesHeader pages{};
      std::array<std::byte, 32> frame_start{};  // the start of a zstd frame (its header)
      size_t frame_start_size = 0;
      bool deferred = false;
      if (kind == RecordKind::Pages && !trust_pages && header.stored_size - sizeof pages >= FileStream::kMapThreshold) {
        // A long run: its checksum is computed with the others, on several threads, after the walk.
        stream.read(&pages, sizeof pages);
        uint64_t payload_offset = stream.offset();
        frame_start_size = sizeof frame_start;
        stream.read(frame_start.data(), frame_start_size);
        stream.seek(payload_offset + (header.stored_size - sizeof pages));
        payloads.add(at, pages, payload_offset, header.stored_size - sizeof pages, header.payload_hash);
        deferred = true;
      } else if (kind == RecordKind::Pages) {
        // Streamed, never held: a Pages payload can be 64 MiB.
        stream.read(&pages, sizeof pages);
        hash.update(&pages, sizeof pages);
        uint64_t rest = header.stored_size - sizeof pages;
        if (trust_pages) {
          // A validation proof vouches for these bytes: only the frame's header is read (below).
          if ((header.flags & kRecordZstd) != 0) {
            frame_start_size = static_cast<size_t>(std::min<uint64_t>(rest, frame_start.size()));
            stream.read(frame_start.data(), frame_start_size);
            rest -= frame_start_size;
          }
          stream.seek(stream.offset() + rest);
        } else {
          stream.consume(rest, [&](std::span<const std::byte> piece) {
            hash.update(piece.data(), piece.size());
            size_t take = std::min(piece.size(), frame_start.size() - frame_start_size);
            std::memcpy(frame_start.data() + frame_start_size, piece.data(), take);
            frame_start_size += take;
          });
        }
      } else {
        payload.resize(header.stored_size);  // bounded by the kind's limit and the file's size
        stream.read(payload.data(), payload.size());
        hash.update(payload.data(), payload.size());
      }
      if (!deferred && !(trust_pages && kind == RecordKind::Pages) && hash.digest() != header.payload_hash) {
        fail(path_, at, "payload checksum mismatch");
      }
      if (kind == RecordKind::Pages) {
        bool zero_fill = (header.flags & kRecordZeroFill) != 0;
        if (zero_fill && (image.header.flags & kFileIncremental) == 0) {
          throw RecordInvalid("a zero-fill Pages record in an image that is not incremental");
        }
        check_pages_header(pages, header.raw_size, image, zero_fill);
        if ((header.flags & kRecordZstd) != 0) {
#if CRCORE_HAVE_ZSTD
          if (ZSTD_getFrameContentSize(frame_start.data(), frame_start_size) != pages.length) {
            throw RecordInvalid("the zstd frame does not declare the record's length as its content size");
          }
#else
          throw RecordInvalid("compressed with zstd, but this crcore was built without zstd");
#endif
        }
        image.pages.push_back({pages.address, pages.length, at.offset + sizeof header, header.stored_size,
                               header.payload_hash, index, header.flags});
        pages_bytes += zero_fill ? 0 : pages.length;
      }
      switch (kind) {
        case RecordKind::Process:
          decode_process(payload, image);
          break;
        case RecordKind::Mm:
          decode_mm(payload, image);
          break;
        case RecordKind::SigActions:
          decode_sigactions(payload, image);
          break;
        case RecordKind::Rlimits:
          decode_rlimits(payload, image);
          break;
        case RecordKind::Thread:
          decode_thread(payload, image);
          break;
        case RecordKind::Region:
          decode_region(payload, image);
          break;
        case RecordKind::Fd:
          decode_fd(payload, image);
          break;
        case RecordKind::FdData:
          decode_fd_data(payload, image);
          break;
        case RecordKind::Resource:
          decode_resource(payload, image);
          break;
        case RecordKind::Pages:
          break;
        case RecordKind::End:
          decode_end(payload, image, index, at.offset, pages_bytes);
          image.end_hash = header.payload_hash;
          break;
      }
    } catch (const RecordInvalid& e) {
      fail(path_, at, e.what());
    }
    order.accept(kind);
    if (kind == RecordKind::End) {
      break;
    }
  }
  if (stream.remaining() != 0) {
    fail(path_, fmt::format("{} bytes after the End record", stream.remaining()));
  }
  if (std::optional<RecordAt> bad = payloads.run(fd_.get(), path_, image.file_size)) {
    fail(path_, *bad, "payload checksum mismatch");
  }
  try {
    check_image(image);
  } catch (const RecordInvalid& e) {
    fail(path_, e.what());
  }
  if (!trust_pages) {
    // Every byte was checked: a proof of it, if the file stayed as it was and its last change is old
    // enough to be told apart from any later one (validation_proof.h, kProofSettleNs).
    int64_t clock_ns = static_cast<int64_t>(clock_at_start.tv_sec) * 1'000'000'000 + clock_at_start.tv_nsec;
    if (identity_now(fd_.get(), path_) == image.identity && image.identity.ctime_ns + kProofSettleNs <= clock_ns) {
      ValidatedFile v;
      v.file = image.identity;
      std::memcpy(v.image_id.data(), image.header.image_id, v.image_id.size());
      v.end_hash = image.end_hash;
      validated_ = v;
    }
  }
  return image;
}

void ImageReader::for_each_pages(const Image& image, const PagesFn& fn) const {
  PagesStream stream(fd_.get(), path_, image.file_size);
  for (const PagesRef& ref : image.pages) {
    if ((ref.flags & kRecordZeroFill) != 0) {
      continue;  // no bytes: zeros where the parent chain had data
    }
    stream.deliver(ref, fn);
  }
}

}  // namespace crcore::image
