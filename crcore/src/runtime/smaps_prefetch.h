// The copy-on-write writer reads /proc/self/smaps for every region's advice (region_advice.h), and
// the kernel walks every page table to produce it: ~50 ms per GiB of small pages. The writer's scan
// of its pages (pagemap, zero pages) walks them too, and neither needs the other, so the writer reads
// smaps in a second thread of its own while it scans, and parses the text after.
//
// RESTRICTED CODE: the writer is the child of a multithreaded process. The reading thread is a bare
// clone of the writer (image/bare_thread.h: no glibc thread; it shares the writer's TLS, so it makes its
// syscalls without errno) and runs only raw syscalls on a stack of its own.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace crcore::runtime {

// The whole text of /proc/self/smaps, writable (the parser ends lines with NULs).
struct SmapsText {
  char* data;
  size_t size;
};

class SmapsPrefetch {
 public:
  SmapsPrefetch() = default;
  SmapsPrefetch(const SmapsPrefetch&) = delete;
  SmapsPrefetch& operator=(const SmapsPrefetch&) = delete;
  ~SmapsPrefetch();  // waits for the thread, unmaps its memory

  // Starts the reading thread. false: it could not start (read smaps in place then).
  bool start();
  // Waits for the thread; the complete text, or nullptr when it failed or did not fit (read smaps
  // in place then).
  SmapsText* finish();

 private:
  static int thread_main(void* self);
  void wait();

  char* buffer_ = nullptr;  // kBufferSize, then the thread's stack
  size_t size_ = 0;
  int error_ = 0;
  bool complete_ = false;
  bool running_ = false;
  std::atomic<int32_t> thread_tid_{0};  // cleared by the kernel when the thread exits
  SmapsText text_{};
};

}  // namespace crcore::runtime
