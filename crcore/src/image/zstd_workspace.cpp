// ZstdWorkspace: the constructor and destructor run in normal context (mmap/munmap);
// everything else is async-signal-safe (ZSTD_compressCCtx on a static context never allocates;
// the workers are raw clone() threads that use futexes through raw syscalls, never errno).
#include "image/zstd_workspace.h"

#include <sys/mman.h>

#include <cstring>

#include "image/bare_thread.h"
#include "image/byte_shuffle.h"

#if CRCORE_HAVE_ZSTD
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#endif

namespace crcore::image {

#if CRCORE_HAVE_ZSTD

namespace {

constexpr size_t kWorkerStack = 256u << 10;
constexpr size_t kAlign = 4096;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// One frame into dst, or 0 when it does not fit in capacity (or zstd fails).
size_t compress_one(void* context, void* dst, size_t capacity, const void* src, size_t size, int level) {
  size_t result = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(context), dst, capacity, src, size, level);
  return ZSTD_isError(result) ? 0 : result;  // most often dstSize_tooSmall: it does not compress enough
}

// A chunk of pages: the shuffled bytes' frame when it gains an eighth or more (numeric data: one
// compression), else the smaller of that and the plain bytes' frame. scratch: kParallelChunk bytes,
// or nullptr without shuffle; a chunk larger than that is compressed as it is.
size_t compress_page_chunk(void* context, std::byte* scratch, void* dst, size_t capacity, const void* src, size_t size,
                           int level, bool* shuffled) {
  *shuffled = false;
  if (scratch == nullptr || size > ZstdWorkspace::kParallelChunk) {
    return compress_one(context, dst, capacity, src, size, level);
  }
  shuffle8(static_cast<const std::byte*>(src), scratch, size);
  size_t frame = compress_one(context, dst, capacity, scratch, size, level);
  *shuffled = frame != 0;
  if (frame != 0 && frame <= size - size / 8) {
    return frame;
  }
  // The shuffled bytes are no longer needed (their frame is in dst): the plain frame goes to scratch.
  size_t plain = compress_one(context, scratch, frame != 0 ? frame - 1 : capacity, src, size, level);
  if (plain == 0) {
    return frame;
  }
  std::memcpy(dst, scratch, plain);
  *shuffled = false;
  return plain;
}

}  // namespace

struct ZstdWorkspace::Worker {
  ZstdWorkspace* owner;
  void* context;  // ZSTD_CCtx*
  std::byte* stack;
  std::byte* shuffle_buffer;  // kParallelChunk bytes, or nullptr without shuffle
  std::atomic<int32_t> tid;   // cleared by the kernel when the worker exits (CLONE_CHILD_CLEARTID)
};

ZstdWorkspace::ZstdWorkspace(int level, int threads, bool shuffle) noexcept : level_(level) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    error_ = "zstd level out of range";
    return;
  }
  threads_ = threads < 1 ? 1 : threads > kMaxThreads ? kMaxThreads : threads;
  // Large enough for any source size at this level (the estimate covers the largest).
  size_t context_size = align_up(ZSTD_estimateCCtxSize(level));
  if (context_size == 0) {
    error_ = "zstd cannot size a static context for this level";
    return;
  }
  size_t workers = threads_ > 1 ? static_cast<size_t>(threads_) : 0;
  slots_ = static_cast<uint32_t>(2 * workers);
  size_t job_buffer = align_up(kJobHeadroom + kParallelChunk);
  size_t table = align_up(workers * sizeof(Worker) + slots_ * sizeof(Job));
  // Shuffle buffers: the caller's, and one a worker (touched only when used).
  size_t shuffle_buffers = shuffle ? (workers + 1) * kParallelChunk : 0;
  size_t size = context_size + table + workers * (context_size + kWorkerStack) + slots_ * job_buffer + shuffle_buffers;
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    error_ = "cannot map the zstd workspace";
    return;
  }
  memory_ = memory;
  memory_size_ = size;
  auto* cursor = static_cast<std::byte*>(memory);
  context_ = ZSTD_initStaticCCtx(cursor, context_size);
  if (context_ == nullptr) {
    error_ = "ZSTD_initStaticCCtx failed";
    return;
  }
  cursor += context_size;
  workers_ = reinterpret_cast<Worker*>(cursor);
  jobs_ = reinterpret_cast<Job*>(cursor + workers * sizeof(Worker));
  cursor += table;
  for (size_t i = 0; i < workers; ++i) {
    Worker& w = workers_[i];
    w.owner = this;
    w.context = ZSTD_initStaticCCtx(cursor, context_size);
    cursor += context_size;
    w.stack = cursor;
    cursor += kWorkerStack;
    if (w.context == nullptr) {
      error_ = "ZSTD_initStaticCCtx failed";
      context_ = nullptr;
      return;
    }
  }
  for (uint32_t i = 0; i < slots_; ++i) {
    jobs_[i].output = cursor;
    cursor += job_buffer;
  }
  if (shuffle) {
    shuffle_buffer_ = cursor;
    cursor += kParallelChunk;
    for (size_t i = 0; i < workers; ++i) {
      workers_[i].shuffle_buffer = cursor;
      cursor += kParallelChunk;
    }
  }
}

ZstdWorkspace::~ZstdWorkspace() {
  stop_workers();
  if (memory_ != nullptr) {
    munmap(memory_, memory_size_);
  }
}

size_t ZstdWorkspace::compress(void* dst, size_t capacity, const void* src, size_t size) noexcept {
  return context_ == nullptr ? 0 : compress_one(context_, dst, capacity, src, size, level_);
}

size_t ZstdWorkspace::compress_pages(void* dst, size_t capacity, const void* src, size_t size,
                                     bool* shuffled) noexcept {
  *shuffled = false;
  if (context_ == nullptr) {
    return 0;
  }
  return compress_page_chunk(context_, shuffle_buffer_, dst, capacity, src, size, level_, shuffled);
}

// A worker: takes the next submitted job, compresses it, marks it done; sleeps when there is none.
// It runs on its own stack with the creator's thread pointer: it must not touch errno or TLS.
int ZstdWorkspace::worker_main(void* arg) {
  auto* self = static_cast<Worker*>(arg);
  ZstdWorkspace& z = *self->owner;
  for (;;) {
    uint32_t generation = z.generation_.load(std::memory_order_acquire);
    uint32_t claimed = z.claimed_.load(std::memory_order_acquire);
    if (claimed == z.submitted_.load(std::memory_order_acquire)) {
      if (z.stop_.load(std::memory_order_acquire) != 0) {
        return 0;
      }
      bare_futex_wait(&z.generation_, generation);
      continue;
    }
    if (!z.claimed_.compare_exchange_weak(claimed, claimed + 1, std::memory_order_acq_rel)) {
      continue;
    }
    Job& job = z.jobs_[claimed % z.slots_];
    std::byte* frame = job.output + kJobHeadroom;
    size_t capacity = job.size - 1;
    job.frame_size = compress_page_chunk(self->context, self->shuffle_buffer, frame, capacity, job.source, job.size,
                                         z.level_, &job.shuffled);
    job.done.store(claimed + 1, std::memory_order_release);
    bare_futex_wake(&job.done);
  }
}

int ZstdWorkspace::start_workers() noexcept {
  if (context_ == nullptr || threads_ <= 1 || running_ != 0) {
    return running_;
  }
  submitted_.store(0);
  claimed_.store(0);
  stop_.store(0);
  for (uint32_t i = 0; i < slots_; ++i) {
    jobs_[i].done.store(0);
  }
  // The workers start with every signal blocked (bare_thread_start): they are threads of the
  // application (or of its writer), and a signal meant for it must not run a handler there.
  for (int i = 0; i < threads_; ++i) {
    Worker& w = workers_[i];
    if (bare_thread_start(worker_main, &w, w.stack + kWorkerStack, &w.tid) < 0) {
      break;
    }
    ++running_;
  }
  return running_;
}

void ZstdWorkspace::stop_workers() noexcept {
  if (running_ == 0) {
    return;
  }
  stop_.store(1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  bare_futex_wake(&generation_);
  for (int i = 0; i < running_; ++i) {
    bare_thread_join(&workers_[i].tid);
  }
  running_ = 0;
}

ZstdWorkspace::Job& ZstdWorkspace::job(uint32_t sequence) noexcept { return jobs_[sequence % slots_]; }

void ZstdWorkspace::submit(uint32_t sequence) noexcept {
  submitted_.store(sequence + 1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  bare_futex_wake(&generation_);
}

ZstdWorkspace::Job& ZstdWorkspace::wait(uint32_t sequence) noexcept {
  Job& j = job(sequence);
  for (uint32_t done; (done = j.done.load(std::memory_order_acquire)) != sequence + 1;) {
    bare_futex_wait(&j.done, done);
  }
  return j;
}

#else  // !CRCORE_HAVE_ZSTD

ZstdWorkspace::ZstdWorkspace(int level, int, bool) noexcept : level_(level), error_("crcore was built without zstd") {}

ZstdWorkspace::~ZstdWorkspace() = default;

size_t ZstdWorkspace::compress(void*, size_t, const void*, size_t) noexcept { return 0; }
size_t ZstdWorkspace::compress_pages(void*, size_t, const void*, size_t, bool* shuffled) noexcept {
  *shuffled = false;
  return 0;
}
int ZstdWorkspace::worker_main(void*) { return 0; }
int ZstdWorkspace::start_workers() noexcept { return 0; }
void ZstdWorkspace::stop_workers() noexcept {}
ZstdWorkspace::Job& ZstdWorkspace::job(uint32_t) noexcept { return jobs_[0]; }
void ZstdWorkspace::submit(uint32_t) noexcept {}
ZstdWorkspace::Job& ZstdWorkspace::wait(uint32_t) noexcept { return jobs_[0]; }

#endif

}  // namespace crcore::image
