// RecordWriter: writes an image file record by record (docs/image-format.md).
//
// ASYNC-SIGNAL-SAFE. It runs while every application thread is stopped, possibly one of them inside
// malloc holding its lock. So, in this class and everything it calls:
//   * no allocation (no malloc/new, no std::string/vector), no locks, no exceptions, no stdio;
//   * only write(2)/writev(2)/fsync(2), memcpy and pure computation (XXH3, zstd on a static context),
//     and, with a threaded ZstdWorkspace or the hashing thread, their bare threads and futexes
//     (zstd_workspace.h, hash_ahead.h);
//   * every error is returned as -errno, and the caller reports it; the writer prints nothing.
// errno is clobbered: a signal handler that calls the writer saves and restores it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "image/format.h"
#include "image/hash_ahead.h"

struct iovec;

namespace crcore::image {

class ZstdWorkspace;

// A piece of a record's payload; a payload is its pieces concatenated.
struct Piece {
  const void* data;
  size_t len;
};

class RecordWriter {
 public:
  static constexpr size_t kMinScratch = 256 * 1024;
  static constexpr size_t kMaxPieces = 32;
  static constexpr size_t kPageSize = 4096;

  // fd: open for writing at the start of an empty file (file offsets in the image count from the
  // first byte written). scratch: caller-owned, at least kMinScratch bytes; it coalesces small records
  // into large writes and receives compressed pages. zstd: nullptr for no compression.
  RecordWriter(int fd, std::span<std::byte> scratch, ZstdWorkspace* zstd) noexcept;
  // Stops the workspace's compression workers if this writer started them.
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Writes the file header. Fills magic, version, header_size, arch and header_check itself, and
  // page_size when it is 0; the caller sets created_ns, image_id, parent_id and flags (0, or
  // kFileIncremental with a non-zero parent_id). 0 or -errno (-EINVAL: scratch too small, called
  // twice, unknown flags, a parent_id without kFileIncremental or the reverse).
  int begin(const FileHeader& header) noexcept;

  // One record of `kind` whose payload is the pieces concatenated (at most kMaxPieces). Kinds must
  // come in the order of record_order.h (-EINVAL otherwise); Pages and End have their own calls.
  // -EMSGSIZE when the payload exceeds the format's limit for the kind.
  int record(RecordKind kind, std::initializer_list<Piece> pieces) noexcept;
  int record(RecordKind kind, std::span<const Piece> pieces) noexcept;

  // Pages record(s) for [address, address+length), read straight from memory (which must be
  // readable). address and length are page-aligned. Splits at kMaxPagesPayload; with a workspace,
  // compresses each chunk (chunks then fit the scratch) and stores it raw when that saves nothing.
  // When the workspace has threads, chunks of ZstdWorkspace::kParallelChunk are compressed by its
  // workers in parallel and written in order; every chunk of the call is written before it returns.
  int pages(uint64_t address, const void* memory, size_t length) noexcept;

  // Lets long uncompressed Pages records into a regular file be hashed by a second thread while this
  // one writes them (hash_ahead.h), started at the first such record. Off by default: turn it on
  // when the writing process may run on two CPUs. The file's bytes are the same either way.
  void allow_hash_thread(bool allow) noexcept { hash_thread_allowed_ = allow; }
  bool hash_thread_running() const noexcept { return hash_ahead_.running(); }

  // Zero-fill Pages record(s) for [address, address+length) (incremental images only, -EINVAL
  // otherwise): these pages are zero now, whatever the parent chain holds. Split at kMaxPagesPayload.
  int zero_pages(uint64_t address, size_t length) noexcept;

  // The End record, then every buffered byte, then fsync. 0 or -errno.
  // With Sync::Later the caller fsyncs the descriptor itself (after letting the application go on).
  enum class Sync { Now, Later };
  int end(Sync sync = Sync::Now) noexcept;

  uint64_t records() const noexcept { return records_; }        // records written, End included
  uint64_t bytes_written() const noexcept { return offset_; }   // image bytes so far (some buffered until end())
  uint64_t page_bytes() const noexcept { return page_bytes_; }  // raw page bytes in Pages records
  uint64_t page_bytes_stored() const noexcept { return stored_page_bytes_; }  // their bytes in the file

 private:
  enum class State { Fresh, Open, Ended, Failed };

  int check_order(RecordKind kind) noexcept;
  int emit(RecordKind kind, std::span<const Piece> pieces, uint64_t payload_size) noexcept;
  int pages_raw(uint64_t address, const void* memory, size_t length) noexcept;
  int pages_raw_interleaved(uint64_t address, const std::byte* memory, size_t length) noexcept;
  HashAhead* hash_ahead_for(size_t length) noexcept;
  int pages_compressed(uint64_t address, const void* memory, size_t length, bool* stored) noexcept;
  int pages_parallel(uint64_t address, const std::byte* memory, size_t length) noexcept;
  int write_job(uint32_t sequence) noexcept;
  int flush() noexcept;
  int write_all(::iovec* iov, int count, int64_t at = -1) noexcept;
  int failed(int error) noexcept;

  int fd_;
  std::byte* buffer_;
  size_t capacity_;
  size_t pending_ = 0;  // buffered bytes at buffer_ not yet written
  ZstdWorkspace* zstd_;
  State state_ = State::Fresh;
  bool incremental_ = false;
  bool workers_started_ = false;
  bool hash_thread_allowed_ = false;
  bool hash_thread_failed_ = false;  // it could not start: hash in this thread from then on
  HashAhead hash_ahead_;
  uint32_t job_sequence_ = 0;     // the next job of the workspace's workers
  int error_ = 0;                 // the first I/O error; every later call returns it
  int last_rank_ = -1;            // record_rank of the last record
  uint32_t singletons_seen_ = 0;  // bit n: the singleton kind of rank n was written
  uint64_t records_ = 0;
  uint64_t offset_ = 0;
  int64_t file_base_ = -1;  // the file position of the FileHeader in a regular file, else -1
  uint64_t page_bytes_ = 0;
  uint64_t stored_page_bytes_ = 0;
};

}  // namespace crcore::image
