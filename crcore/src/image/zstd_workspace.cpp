// ZstdWorkspace: the constructor and destructor run in normal context (mmap/munmap);
// everything else is async-signal-safe (ZSTD_compressCCtx on a static context never allocates;
// the workers are raw clone() threads that use futexes through raw syscalls, never errno).
#include "image/zstd_workspace.h"

#include <sys/mman.h>

#include "image/bare_thread.h"

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

}  // namespace

struct ZstdWorkspace::Worker {
  ZstdWorkspace* owner;
  void* context;  // ZSTD_CCtx*
  std::byte* stack;
  std::atomic<int32_t> tid;  // cleared by the kernel when the worker exits (CLONE_CHILD_CLEARTID)
};

ZstdWorkspace::ZstdWorkspace(int level, int threads) noexcept : level_(level) {
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
  size_t size = context_size + table + workers * (context_size + kWorkerStack) + slots_ * job_buffer;
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
}

ZstdWorkspace::~ZstdWorkspace() {
  stop_workers();
  if (memory_ != nullptr) {
    munmap(memory_, memory_size_);
  }
}

size_t ZstdWorkspace::compress(void* dst, size_t capacity, const void* src, size_t size) noexcept {
  if (context_ == nullptr) {
    return 0;
  }
  size_t result = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(context_), dst, capacity, src, size, level_);
  if (ZSTD_isError(result)) {
    return 0;  // most often dstSize_tooSmall: the data does not compress into capacity
  }
  return result;
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
    size_t capacity = job.size - 1;
    size_t result = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(self->context), job.output + kJobHeadroom, capacity,
                                      job.source, job.size, z.level_);
    job.frame_size = ZSTD_isError(result) ? 0 : result;
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

ZstdWorkspace::ZstdWorkspace(int level, int) noexcept : level_(level), error_("crcore was built without zstd") {}

ZstdWorkspace::~ZstdWorkspace() = default;

size_t ZstdWorkspace::compress(void*, size_t, const void*, size_t) noexcept { return 0; }
int ZstdWorkspace::worker_main(void*) { return 0; }
int ZstdWorkspace::start_workers() noexcept { return 0; }
void ZstdWorkspace::stop_workers() noexcept {}
ZstdWorkspace::Job& ZstdWorkspace::job(uint32_t) noexcept { return jobs_[0]; }
void ZstdWorkspace::submit(uint32_t) noexcept {}
ZstdWorkspace::Job& ZstdWorkspace::wait(uint32_t) noexcept { return jobs_[0]; }

#endif

}  // namespace crcore::image
