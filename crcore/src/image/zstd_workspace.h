// A preallocated zstd compression context, so that compressing needs no allocation later, and
// optionally worker threads that compress independent chunks in parallel (--compress with threads).
//
// Construct it in normal context (it maps memory); call compress() from anywhere, including
// async-signal-safe code such as the RecordWriter: compress() only computes into the workspace.
// The workers are raw clone() threads (CLONE_VM | CLONE_THREAD, no TLS of their own, every signal
// blocked) started by start_workers() in whichever process writes the image (the application's
// manager, or its copy-on-write writer child, where pthread_create is not safe: a stopped thread
// may hold glibc's locks). They only run ZSTD_compressCCtx on a static context of their own and
// wait on futexes; start_workers(), submit(), wait() and stop_workers() are async-signal-safe.
// When crcore is built without zstd (CRCORE_HAVE_ZSTD=0) the class exists and reports unavailable.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace crcore::image {

class ZstdWorkspace {
 public:
  static constexpr int kDefaultLevel = 1;
  static constexpr int kMaxThreads = 16;
  // The piece of memory one worker compresses into one frame (one Pages record).
  static constexpr size_t kParallelChunk = 2u << 20;
  // Bytes before each job's frame in its output buffer, for the record and pages headers.
  static constexpr size_t kJobHeadroom = 64;

  // One chunk to compress: the caller fills source, size and address, submit()s it, and reads
  // frame_size (0: not compressible into less than size - 1 bytes) and shuffled once wait()
  // returns it.
  struct Job {
    std::atomic<uint32_t> done;  // sequence number + 1 once compressed
    bool shuffled;               // the frame holds the bytes shuffled (kRecordShuffle8)
    const void* source;
    size_t size;
    uint64_t address;
    std::byte* output;  // kJobHeadroom bytes, then room for the frame
    size_t frame_size;
  };

  // Never throws: when the workspace cannot be made, available() is false and error() says why.
  // threads: how many threads compress at once (1: only the caller, no workers). shuffle: page
  // chunks may be byte-shuffled before compression (byte_shuffle.h; compress_pages and the workers).
  explicit ZstdWorkspace(int level = kDefaultLevel, int threads = 1, bool shuffle = true) noexcept;
  ~ZstdWorkspace();
  ZstdWorkspace(const ZstdWorkspace&) = delete;
  ZstdWorkspace& operator=(const ZstdWorkspace&) = delete;

  bool available() const noexcept { return context_ != nullptr; }
  const char* error() const noexcept { return error_; }
  int level() const noexcept { return level_; }
  int threads() const noexcept { return threads_; }
  // The mapping that holds the workspace (a checkpointer may leave it out of an image).
  const void* memory() const noexcept { return memory_; }
  size_t memory_size() const noexcept { return memory_size_; }

  // Async-signal-safe. Compresses [src, src+size) into one zstd frame (content size recorded, no
  // zstd checksum) in [dst, dst+capacity). Returns the frame size, or 0 when the frame does not fit
  // in capacity, compression fails or the workspace is unavailable.
  size_t compress(void* dst, size_t capacity, const void* src, size_t size) noexcept;
  // Async-signal-safe. The same for whole pages (size a multiple of 4096): with shuffle, the frame
  // of the shuffled bytes when that gains at least an eighth, else the smaller of the two frames
  // (*shuffled says which). Chunks over kParallelChunk are compressed as they are.
  size_t compress_pages(void* dst, size_t capacity, const void* src, size_t size, bool* shuffled) noexcept;

  // Async-signal-safe. Starts threads() workers in the calling process; returns how many run (0:
  // compress serially). Call stop_workers() before the memory they read goes away.
  int start_workers() noexcept;
  void stop_workers() noexcept;
  int running_workers() const noexcept { return running_; }
  // Jobs in flight at most: sequence number s uses job(s), which is free again once s - slots() is
  // waited for.
  uint32_t slots() const noexcept { return slots_; }
  Job& job(uint32_t sequence) noexcept;
  // Publishes job(sequence) (sequences are submitted in order, from 0 after start_workers()).
  void submit(uint32_t sequence) noexcept;
  // Waits until job(sequence) is compressed.
  Job& wait(uint32_t sequence) noexcept;

 private:
  static int worker_main(void* arg);
  struct Worker;

  int level_;
  int threads_ = 1;
  std::byte* shuffle_buffer_ = nullptr;  // kParallelChunk bytes for compress_pages; nullptr: no shuffle
  void* memory_ = nullptr;
  size_t memory_size_ = 0;
  void* context_ = nullptr;  // ZSTD_CCtx* placed inside memory_ (the caller's)
  const char* error_ = nullptr;
  // Parallel part, inside memory_: a context and a stack per worker, slots_ jobs and their buffers.
  Worker* workers_ = nullptr;
  Job* jobs_ = nullptr;
  uint32_t slots_ = 0;
  int running_ = 0;
  std::atomic<uint32_t> submitted_{0};
  std::atomic<uint32_t> claimed_{0};
  std::atomic<uint32_t> generation_{0};  // the workers' futex word: changes on every submit and on stop
  std::atomic<uint32_t> stop_{0};
};

}  // namespace crcore::image
