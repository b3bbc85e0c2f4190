// HashAhead: a second thread that computes a long Pages record's payload hash while the writer's
// thread writes the same bytes, a little ahead of it.
//
// Why: a record's hash comes first in the file, and writing 4 GiB of memory into a fresh file of
// /dev/shm is bound by the kernel's page allocation and copy (one core: ~1.6-2 GB/s on the build
// machine). Hashing in the writer's own thread added ~15% to that (docs/benchmarks.md). Here the
// hashing thread stays at most kWindow bytes ahead of the write(2)s, so the bytes it reads are still
// in the shared cache when the kernel copies them: memory is read from RAM once, as before.
//
// ASYNC-SIGNAL-SAFE (the rules of record_writer.h): start() maps the thread's stack and its shared
// state with mmap and starts a bare thread (bare_thread.h); the thread runs only XXH3 and futexes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace crcore::image {

class HashAhead {
 public:
  static constexpr size_t kSlice = 128u << 10;  // the writer reports its progress a slice at a time
  static constexpr uint32_t kWindowSlices = 8;  // how far the hashing thread may run ahead: 1 MiB

  HashAhead() = default;
  ~HashAhead();  // stops the thread, unmaps its memory
  HashAhead(const HashAhead&) = delete;
  HashAhead& operator=(const HashAhead&) = delete;

  // Maps the state and starts the thread. false: it cannot run (hash in the caller's thread then).
  bool start() noexcept;
  bool running() const noexcept { return shared_ != nullptr; }

  // Starts hashing prefix (at most 64 bytes: the PagesHeader) then memory[0, length), which must
  // stay readable and unchanged until digest() returns. One record at a time.
  void begin(const void* prefix, size_t prefix_len, const std::byte* memory, size_t length) noexcept;
  // The writer has written memory[0, done): the thread may hash up to done + kWindow.
  void written(size_t done) noexcept;
  // Lets the thread hash the rest at its own pace and waits for the record's hash.
  uint64_t digest() noexcept;

 private:
  struct Shared;
  static int thread_main(void* shared);
  void stop() noexcept;

  Shared* shared_ = nullptr;  // inside the mapping, after the thread's stack
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
};

}  // namespace crcore::image
