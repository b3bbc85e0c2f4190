// HashAhead (hash_ahead.h). ASYNC-SIGNAL-SAFE throughout: mmap/munmap, a bare thread, futexes and
// XXH3. The hashing thread shares the writer's TLS (bare_thread.h): it touches neither errno nor TLS.
#include "image/hash_ahead.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "image/bare_thread.h"
#include "image/checksum.h"

#pragma GCC poison malloc calloc realloc free aligned_alloc posix_memalign strdup
#pragma GCC poison printf fprintf sprintf snprintf puts fputs fopen fwrite fflush syslog
#pragma GCC poison pthread_mutex_lock pthread_mutex_trylock

namespace crcore::image {
namespace {

constexpr size_t kStackSize = 64u << 10;
constexpr uint32_t kAll = UINT32_MAX;  // written(): the writer is done (or gave up): hash the rest

}  // namespace

// Shared between the writer's thread and the hashing thread. The futex words count slices of the
// current record, so the thread never needs to know the writer's byte offsets.
struct HashAhead::Shared {
  std::atomic<uint32_t> posted{0};  // records posted; the thread waits on it for the next one
  std::atomic<uint32_t> stop{0};
  std::atomic<uint32_t> written{0};    // slices the writer has written of the current record
  std::atomic<uint32_t> resume_at{0};  // the thread sleeps until written >= resume_at; 0: it runs
  std::atomic<uint32_t> finished{0};   // records hashed; the writer waits on it for the digest
  std::atomic<uint32_t> writer_waiting{0};
  std::atomic<int32_t> tid{0};  // cleared by the kernel when the thread exits
  const std::byte* memory = nullptr;
  size_t length = 0;
  unsigned char prefix[64];
  size_t prefix_len = 0;
  uint64_t digest = 0;
  PayloadHash hash;
};

int HashAhead::thread_main(void* arg) {
  auto* s = static_cast<Shared*>(arg);
  uint32_t seen = 0;
  for (;;) {
    uint32_t posted = s->posted.load(std::memory_order_acquire);
    if (s->stop.load(std::memory_order_acquire) != 0) {
      return 0;
    }
    if (posted == seen) {
      bare_futex_wait(&s->posted, posted);  // returns at once when posted changed since the load
      continue;
    }
    seen = posted;
    s->hash.reset();
    s->hash.update(s->prefix, s->prefix_len);
    uint32_t slices = static_cast<uint32_t>((s->length + kSlice - 1) / kSlice);
    for (uint32_t i = 0; i < slices; ++i) {
      // Hash slice i only while it is at most kWindowSlices ahead of the writer; when it is not,
      // sleep until the writer is half a window further than needed (a wake-up every few slices).
      for (;;) {
        uint32_t done = s->written.load(std::memory_order_seq_cst);
        if (done == kAll || i < done + kWindowSlices) {
          break;
        }
        s->resume_at.store(i + 1 - kWindowSlices + kWindowSlices / 2, std::memory_order_seq_cst);
        if (s->written.load(std::memory_order_seq_cst) == done) {
          bare_futex_wait(&s->written, done);
        }
        s->resume_at.store(0, std::memory_order_relaxed);
      }
      size_t at = static_cast<size_t>(i) * kSlice;
      size_t len = s->length - at < kSlice ? s->length - at : kSlice;
      s->hash.update(s->memory + at, len);
    }
    s->digest = s->hash.digest();
    s->finished.store(seen, std::memory_order_seq_cst);
    if (s->writer_waiting.load(std::memory_order_seq_cst) != 0) {
      bare_futex_wake(&s->finished);
    }
  }
}

bool HashAhead::start() noexcept {
  if (shared_ != nullptr) {
    return true;
  }
  size_t size = kStackSize + ((sizeof(Shared) + 4095) & ~size_t{4095});
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return false;
  }
  auto* stack = static_cast<std::byte*>(memory);
  auto* shared = new (stack + kStackSize) Shared;  // placement into the fresh mapping: no allocation
  if (bare_thread_start(thread_main, shared, stack + kStackSize, &shared->tid) < 0) {
    shared->~Shared();
    munmap(memory, size);
    return false;
  }
  mapping_ = memory;
  mapping_size_ = size;
  shared_ = shared;
  return true;
}

void HashAhead::begin(const void* prefix, size_t prefix_len, const std::byte* memory, size_t length) noexcept {
  Shared& s = *shared_;
  s.prefix_len = prefix_len < sizeof s.prefix ? prefix_len : sizeof s.prefix;
  std::memcpy(s.prefix, prefix, s.prefix_len);
  s.memory = memory;
  s.length = length;
  s.written.store(0, std::memory_order_relaxed);
  // The thread is idle between records, waiting on posted: the release publishes the fields above.
  s.posted.fetch_add(1, std::memory_order_release);
  bare_futex_wake(&s.posted);
}

void HashAhead::written(size_t done) noexcept {
  Shared& s = *shared_;
  auto slices = static_cast<uint32_t>(done / kSlice);
  s.written.store(slices, std::memory_order_seq_cst);
  uint32_t resume = s.resume_at.load(std::memory_order_seq_cst);
  if (resume != 0 && slices >= resume) {
    bare_futex_wake(&s.written);
  }
}

uint64_t HashAhead::digest() noexcept {
  Shared& s = *shared_;
  s.written.store(kAll, std::memory_order_seq_cst);
  if (s.resume_at.load(std::memory_order_seq_cst) != 0) {
    bare_futex_wake(&s.written);
  }
  uint32_t record = s.posted.load(std::memory_order_relaxed);
  s.writer_waiting.store(1, std::memory_order_seq_cst);
  for (uint32_t f; (f = s.finished.load(std::memory_order_seq_cst)) != record;) {
    bare_futex_wait(&s.finished, f);
  }
  s.writer_waiting.store(0, std::memory_order_relaxed);
  return s.digest;
}

void HashAhead::stop() noexcept {
  if (shared_ == nullptr) {
    return;
  }
  // stop first, then a change of the word the thread sleeps on, so that a thread that read posted
  // before stop was set does not sleep through the wake-up.
  shared_->stop.store(1, std::memory_order_seq_cst);
  shared_->posted.fetch_add(1, std::memory_order_seq_cst);
  bare_futex_wake(&shared_->posted);
  bare_thread_join(&shared_->tid);
  shared_->~Shared();
  munmap(mapping_, mapping_size_);
  shared_ = nullptr;
  mapping_ = nullptr;
}

HashAhead::~HashAhead() { stop(); }

}  // namespace crcore::image
