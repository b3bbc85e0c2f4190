// RecordWriter. ASYNC-SIGNAL-SAFE: read the rules at the top of record_writer.h before changing
// anything here. This file is compiled with -fno-exceptions, and the allocation, stdio and locking
// functions are poisoned below the includes, so that breaking the rules does not compile.
#include "image/record_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "image/checksum.h"
#include "image/record_order.h"
#include "image/zstd_workspace.h"

#pragma GCC poison malloc calloc realloc free aligned_alloc posix_memalign strdup
#pragma GCC poison printf fprintf sprintf snprintf puts fputs fopen fwrite fflush syslog
#pragma GCC poison pthread_mutex_lock pthread_mutex_trylock

namespace crcore::image {
namespace {

constexpr size_t kFramingSize = sizeof(RecordHeader) + sizeof(PagesHeader);  // 56
constexpr size_t kMinParallelRun = 256u << 10;
// A slice of a long uncompressed Pages record, hashed and then written while it is in the cache
// (this machine's L2 is 512 KiB a core); the hashing thread counts the writer's progress in the same
// slices.
constexpr size_t kInterleaveSlice = HashAhead::kSlice;

RecordHeader make_header(RecordKind kind, uint16_t flags, uint64_t stored, uint64_t raw, uint64_t hash) {
  RecordHeader header;
  std::memset(&header, 0, sizeof header);
  header.magic = kRecordMagic;
  header.kind = static_cast<uint16_t>(kind);
  header.flags = flags;
  header.stored_size = stored;
  header.raw_size = raw;
  header.payload_hash = hash;
  header.header_check = record_header_check(header);
  return header;
}

uint64_t payload_limit(RecordKind kind) {
  if (kind == RecordKind::FdData) {
    return sizeof(FdDataHeader) + kMaxFdDataPayload;
  }
  if (kind == RecordKind::Resource) {
    return sizeof(ResourceHeader) + kMaxFdDataPayload;
  }
  return kMaxMetaPayload;
}

}  // namespace

RecordWriter::RecordWriter(int fd, std::span<std::byte> scratch, ZstdWorkspace* zstd) noexcept
    : fd_(fd), buffer_(scratch.data()), capacity_(scratch.size()), zstd_(zstd) {
  if (zstd_ != nullptr && !zstd_->available()) {
    zstd_ = nullptr;
  }
}

RecordWriter::~RecordWriter() {
  if (workers_started_) {
    zstd_->stop_workers();
  }
}

int RecordWriter::failed(int error) noexcept {
  state_ = State::Failed;
  error_ = error;
  return error;
}

int RecordWriter::begin(const FileHeader& header) noexcept {
  if (state_ != State::Fresh || capacity_ < kMinScratch || buffer_ == nullptr) {
    return -EINVAL;
  }
  FileHeader h;
  std::memcpy(&h, &header, sizeof h);
  std::memcpy(h.magic, kFileMagic, sizeof h.magic);
  h.version = kImageVersion;
  h.header_size = sizeof(FileHeader);
  h.arch = kArchX86_64;
  if (h.page_size == 0) {
    h.page_size = kPageSize;
  }
  if (h.page_size != kPageSize) {
    return -EINVAL;
  }
  if ((h.flags & ~uint32_t{kFileScopeMember | kFileIncremental}) != 0) {
    return -ENOTSUP;
  }
  // An incremental image names its parent; a full one names none.
  bool incremental = (h.flags & kFileIncremental) != 0;
  bool has_parent = std::any_of(h.parent_id, h.parent_id + sizeof h.parent_id, [](uint8_t b) { return b != 0; });
  if (incremental != has_parent) {
    return -EINVAL;
  }
  incremental_ = incremental;
  // Long Pages records are written headers-last into a regular file opened without O_APPEND
  // (pages_raw_interleaved); anything else (a pipe, a socket) gets every byte in order.
  struct stat st;
  int status_flags = fcntl(fd_, F_GETFL);
  off_t base = lseek(fd_, 0, SEEK_CUR);
  file_base_ =
      fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && status_flags >= 0 && (status_flags & O_APPEND) == 0 && base >= 0
          ? base
          : -1;
  h.header_check = file_header_check(h);
  std::memcpy(buffer_, &h, sizeof h);
  pending_ = sizeof h;
  offset_ = sizeof h;
  state_ = State::Open;
  return 0;
}

int RecordWriter::check_order(RecordKind kind) noexcept {
  if (state_ == State::Failed) {
    return error_;
  }
  if (state_ != State::Open) {
    return -EINVAL;
  }
  int rank = record_rank(kind);
  if (rank < 0 || rank < last_rank_ || (rank == last_rank_ && record_is_singleton(kind))) {
    return -EINVAL;
  }
  // A later kind may not skip a singleton (Process, Mm, SigActions, Rlimits).
  for (int r = 0; r < rank; ++r) {
    if (record_is_singleton(kRecordOrder[r]) && (singletons_seen_ & (1u << r)) == 0) {
      return -EINVAL;
    }
  }
  return 0;
}

int RecordWriter::record(RecordKind kind, std::initializer_list<Piece> pieces) noexcept {
  return record(kind, std::span<const Piece>(pieces.begin(), pieces.size()));
}

int RecordWriter::record(RecordKind kind, std::span<const Piece> pieces) noexcept {
  if (kind == RecordKind::Pages || kind == RecordKind::End || pieces.size() > kMaxPieces) {
    return -EINVAL;
  }
  if (int rc = check_order(kind); rc != 0) {
    return rc;
  }
  uint64_t total = 0;
  for (const Piece& piece : pieces) {
    total += piece.len;
    if (piece.len > payload_limit(kind) || total > payload_limit(kind)) {
      return -EMSGSIZE;
    }
  }
  return emit(kind, pieces, total);
}

// Writes one uncompressed record (not Pages): into the scratch when it fits, directly otherwise.
int RecordWriter::emit(RecordKind kind, std::span<const Piece> pieces, uint64_t payload_size) noexcept {
  PayloadHash hash;
  for (const Piece& piece : pieces) {
    hash.update(piece.data, piece.len);
  }
  RecordHeader header = make_header(kind, 0, payload_size, payload_size, hash.digest());
  size_t record_size = sizeof header + payload_size;

  if (pending_ + record_size > capacity_) {
    if (int rc = flush(); rc != 0) {
      return rc;
    }
  }
  if (record_size <= capacity_) {
    std::byte* out = buffer_ + pending_;
    std::memcpy(out, &header, sizeof header);
    out += sizeof header;
    for (const Piece& piece : pieces) {
      if (piece.len != 0) {
        std::memcpy(out, piece.data, piece.len);
        out += piece.len;
      }
    }
    pending_ += record_size;
  } else {
    struct iovec iov[kMaxPieces + 1];
    int count = 0;
    iov[count++] = {&header, sizeof header};
    for (const Piece& piece : pieces) {
      iov[count++] = {const_cast<void*>(piece.data), piece.len};
    }
    if (int rc = write_all(iov, count); rc != 0) {
      return rc;
    }
  }
  singletons_seen_ |= record_is_singleton(kind) ? 1u << record_rank(kind) : 0;
  last_rank_ = record_rank(kind);
  ++records_;
  offset_ += record_size;
  return 0;
}

int RecordWriter::zero_pages(uint64_t address, size_t length) noexcept {
  if (int rc = check_order(RecordKind::Pages); rc != 0) {
    return rc;
  }
  if (!incremental_ || address % kPageSize != 0 || length % kPageSize != 0 || address + length < address) {
    return -EINVAL;
  }
  last_rank_ = record_rank(RecordKind::Pages);
  while (length > 0) {
    size_t chunk = std::min<size_t>(length, kMaxPagesPayload);
    PagesHeader pages{address, chunk};
    PayloadHash hash;
    hash.update(&pages, sizeof pages);
    RecordHeader header = make_header(RecordKind::Pages, kRecordZeroFill, sizeof pages, sizeof pages, hash.digest());
    if (pending_ + kFramingSize > capacity_) {
      if (int rc = flush(); rc != 0) {
        return rc;
      }
    }
    std::memcpy(buffer_ + pending_, &header, sizeof header);
    std::memcpy(buffer_ + pending_ + sizeof header, &pages, sizeof pages);
    pending_ += kFramingSize;
    offset_ += kFramingSize;
    ++records_;
    address += chunk;
    length -= chunk;
  }
  return 0;
}

int RecordWriter::pages(uint64_t address, const void* memory, size_t length) noexcept {
  if (int rc = check_order(RecordKind::Pages); rc != 0) {
    return rc;
  }
  if (address % kPageSize != 0 || length % kPageSize != 0 || address + length < address) {
    return -EINVAL;
  }
  last_rank_ = record_rank(RecordKind::Pages);
  const auto* bytes = static_cast<const std::byte*>(memory);
  // A short run is not worth a round trip to the workers.
  if (zstd_ != nullptr && zstd_->threads() > 1 && length >= kMinParallelRun) {
    if (!workers_started_) {
      workers_started_ = true;
      zstd_->start_workers();
    }
    if (zstd_->running_workers() > 0) {
      return pages_parallel(address, bytes, length);
    }
  }
  // With compression, a chunk's frame must fit the scratch after the record and pages headers.
  size_t chunk_limit = kMaxPagesPayload;
  if (zstd_ != nullptr) {  // and its shuffle buffer
    chunk_limit =
        std::min({chunk_limit, (capacity_ - kFramingSize) / kPageSize * kPageSize, ZstdWorkspace::kParallelChunk});
  }
  while (length > 0) {
    size_t chunk = std::min(length, chunk_limit);
    bool stored = false;
    if (zstd_ != nullptr) {
      if (int rc = pages_compressed(address, bytes, chunk, &stored); rc != 0) {
        return rc;
      }
    }
    if (!stored) {
      if (int rc = pages_raw(address, bytes, chunk); rc != 0) {
        return rc;
      }
    }
    ++records_;
    page_bytes_ += chunk;
    address += chunk;
    bytes += chunk;
    length -= chunk;
  }
  return 0;
}

// One uncompressed Pages record: the buffered bytes, the headers and the memory in one writev.
// Into a regular file, a long record is hashed and written a slice at a time instead, and its headers
// (the hash comes first in the file) written in place last: each slice is then read from memory once,
// the write copying it from the cache the hash just filled (pages_raw_interleaved).
int RecordWriter::pages_raw(uint64_t address, const void* memory, size_t length) noexcept {
  if (file_base_ >= 0 && length > kInterleaveSlice) {
    return pages_raw_interleaved(address, static_cast<const std::byte*>(memory), length);
  }
  PagesHeader pages{address, length};
  PayloadHash hash;
  hash.update(&pages, sizeof pages);
  hash.update(memory, length);
  uint64_t payload = sizeof pages + length;
  unsigned char framing[kFramingSize];
  RecordHeader header = make_header(RecordKind::Pages, 0, payload, payload, hash.digest());
  std::memcpy(framing, &header, sizeof header);
  std::memcpy(framing + sizeof header, &pages, sizeof pages);

  struct iovec iov[3];
  int count = 0;
  if (pending_ != 0) {
    iov[count++] = {buffer_, pending_};
  }
  iov[count++] = {framing, sizeof framing};
  iov[count++] = {const_cast<void*>(memory), length};
  if (int rc = write_all(iov, count); rc != 0) {
    return rc;
  }
  pending_ = 0;
  offset_ += sizeof header + payload;
  stored_page_bytes_ += length;
  return 0;
}

// The hashing thread takes records of at least a few slices: each costs it a wake-up and the writer
// a wait for the digest.
HashAhead* RecordWriter::hash_ahead_for(size_t length) noexcept {
  if (!hash_thread_allowed_ || hash_thread_failed_ || length < 4 * kInterleaveSlice) {
    return nullptr;
  }
  if (!hash_ahead_.running() && !hash_ahead_.start()) {
    hash_thread_failed_ = true;
    return nullptr;
  }
  return &hash_ahead_;
}

// The payload is hashed here a slice at a time just before that slice is written, or by the hashing
// thread a few slices ahead of the writes (hash_ahead_for); either way each byte is read from memory
// once, the write copying it from the cache.
int RecordWriter::pages_raw_interleaved(uint64_t address, const std::byte* memory, size_t length) noexcept {
  PagesHeader pages{address, length};
  HashAhead* ahead = hash_ahead_for(length);
  PayloadHash hash;
  if (ahead != nullptr) {
    ahead->begin(&pages, sizeof pages, memory, length);
  } else {
    hash.update(&pages, sizeof pages);
  }
  int64_t record_at = file_base_ + static_cast<int64_t>(offset_);  // where the headers go
  unsigned char framing[kFramingSize] = {};                        // written as zeros first
  int rc = 0;
  for (size_t done = 0; done < length && rc == 0; done += kInterleaveSlice) {
    size_t slice = std::min(length - done, kInterleaveSlice);
    if (ahead == nullptr) {
      hash.update(memory + done, slice);
    }
    struct iovec iov[3];
    int count = 0;
    if (done == 0) {  // the buffered records and the zeroed headers go with the first slice
      if (pending_ != 0) {
        iov[count++] = {buffer_, pending_};
      }
      iov[count++] = {framing, sizeof framing};
    }
    iov[count++] = {const_cast<std::byte*>(memory + done), slice};
    rc = write_all(iov, count);
    if (rc == 0 && done == 0) {
      pending_ = 0;
    }
    if (ahead != nullptr) {
      ahead->written(done + slice);
    }
  }
  // The thread still reads the memory: wait for it also after a failed write.
  uint64_t digest = ahead != nullptr ? ahead->digest() : hash.digest();
  if (rc != 0) {
    return rc;
  }
  uint64_t payload = sizeof pages + length;
  RecordHeader header = make_header(RecordKind::Pages, 0, payload, payload, digest);
  std::memcpy(framing, &header, sizeof header);
  std::memcpy(framing + sizeof header, &pages, sizeof pages);
  struct iovec headers = {framing, sizeof framing};
  if (int rc2 = write_all(&headers, 1, record_at); rc2 != 0) {
    return rc2;
  }
  offset_ += sizeof header + payload;
  stored_page_bytes_ += length;
  return 0;
}

// One compressed Pages record built in the scratch; *stored is false when compressing saves nothing
// (nothing is written then).
int RecordWriter::pages_compressed(uint64_t address, const void* memory, size_t length, bool* stored) noexcept {
  if (int rc = flush(); rc != 0) {
    return rc;
  }
  std::byte* frame = buffer_ + kFramingSize;
  bool shuffled = false;
  size_t frame_size =
      zstd_->compress_pages(frame, std::min(capacity_ - kFramingSize, length - 1), memory, length, &shuffled);
  if (frame_size == 0) {
    *stored = false;
    return 0;
  }
  PagesHeader pages{address, length};
  std::memcpy(buffer_ + sizeof(RecordHeader), &pages, sizeof pages);
  uint64_t stored_size = sizeof pages + frame_size;
  uint64_t hash = payload_hash(buffer_ + sizeof(RecordHeader), stored_size);
  uint16_t flags = shuffled ? kRecordZstd | kRecordShuffle8 : kRecordZstd;
  RecordHeader header = make_header(RecordKind::Pages, flags, stored_size, sizeof pages + length, hash);
  std::memcpy(buffer_, &header, sizeof header);
  struct iovec iov = {buffer_, sizeof header + stored_size};
  if (int rc = write_all(&iov, 1); rc != 0) {
    return rc;
  }
  offset_ += sizeof header + stored_size;
  stored_page_bytes_ += frame_size;
  *stored = true;
  return 0;
}

// Chunks go to the workers as long as a job slot is free; the oldest is written (compressed, or
// raw when compressing saved nothing) before its slot is reused, so records stay in address order.
// Every job is written (or, after a failure, waited for) before returning: the caller may reuse
// the memory then.
int RecordWriter::pages_parallel(uint64_t address, const std::byte* memory, size_t length) noexcept {
  static_assert(ZstdWorkspace::kJobHeadroom >= kFramingSize);
  uint32_t next = job_sequence_, oldest = job_sequence_;
  int rc = 0;
  while (length > 0 && rc == 0) {
    if (next - oldest == zstd_->slots()) {
      rc = write_job(oldest++);
      continue;
    }
    size_t chunk = std::min(length, ZstdWorkspace::kParallelChunk);
    ZstdWorkspace::Job& job = zstd_->job(next);
    job.source = memory;
    job.size = chunk;
    job.address = address;
    zstd_->submit(next++);
    address += chunk;
    memory += chunk;
    length -= chunk;
  }
  for (; oldest != next; ++oldest) {
    if (rc == 0) {
      rc = write_job(oldest);
    } else {
      zstd_->wait(oldest);
    }
  }
  job_sequence_ = next;
  return rc;
}

int RecordWriter::write_job(uint32_t sequence) noexcept {
  ZstdWorkspace::Job& job = zstd_->wait(sequence);
  ++records_;
  page_bytes_ += job.size;
  if (job.frame_size == 0) {
    return pages_raw(job.address, job.source, job.size);
  }
  std::byte* frame = job.output + ZstdWorkspace::kJobHeadroom;
  std::byte* record = frame - kFramingSize;
  PagesHeader pages{job.address, job.size};
  std::memcpy(record + sizeof(RecordHeader), &pages, sizeof pages);
  uint64_t stored_size = sizeof pages + job.frame_size;
  uint64_t hash = payload_hash(record + sizeof(RecordHeader), stored_size);
  uint16_t flags = job.shuffled ? kRecordZstd | kRecordShuffle8 : kRecordZstd;
  RecordHeader header = make_header(RecordKind::Pages, flags, stored_size, sizeof pages + job.size, hash);
  std::memcpy(record, &header, sizeof header);
  struct iovec iov[2];
  int count = 0;
  if (pending_ != 0) {
    iov[count++] = {buffer_, pending_};
  }
  iov[count++] = {record, sizeof header + stored_size};
  if (int rc = write_all(iov, count); rc != 0) {
    return rc;
  }
  pending_ = 0;
  offset_ += sizeof header + stored_size;
  stored_page_bytes_ += job.frame_size;
  return 0;
}

int RecordWriter::end(Sync sync) noexcept {
  if (int rc = check_order(RecordKind::End); rc != 0) {
    return rc;
  }
  EndRecord end{records_, page_bytes_, offset_};
  Piece piece{&end, sizeof end};
  if (int rc = emit(RecordKind::End, std::span<const Piece>(&piece, 1), sizeof end); rc != 0) {
    return rc;
  }
  if (int rc = flush(); rc != 0) {
    return rc;
  }
  // EINVAL/EROFS: the descriptor (a pipe, a socket) cannot be synchronised; nothing to do then.
  if (sync == Sync::Now && fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
    return failed(-errno);
  }
  state_ = State::Ended;
  return 0;
}

int RecordWriter::flush() noexcept {
  if (pending_ == 0) {
    return 0;
  }
  struct iovec iov = {buffer_, pending_};
  if (int rc = write_all(&iov, 1); rc != 0) {
    return rc;
  }
  pending_ = 0;
  return 0;
}

// writev until everything is written: retries after EINTR and continues after short writes. With
// `at` (a file position), pwritev there instead: the file position stays where it is.
int RecordWriter::write_all(::iovec* iov, int count, int64_t at) noexcept {
  while (count > 0 && iov->iov_len == 0) {
    ++iov;
    --count;
  }
  while (count > 0) {
    ssize_t n = at < 0 ? writev(fd_, iov, std::min(count, IOV_MAX)) : pwritev(fd_, iov, std::min(count, IOV_MAX), at);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return failed(-errno);
    }
    if (n == 0) {
      return failed(-EIO);
    }
    size_t done = static_cast<size_t>(n);
    at = at < 0 ? at : at + n;
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return 0;
}

}  // namespace crcore::image
