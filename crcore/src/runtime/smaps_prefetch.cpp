// SmapsPrefetch (smaps_prefetch.h). RESTRICTED CODE throughout: raw syscalls and plain data.
#include "runtime/smaps_prefetch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>

#include "image/bare_thread.h"

namespace crcore::runtime {
namespace {

using image::bare_syscall;

// The text of smaps: ~1.3 KiB a mapping, and an image holds at most image::kMaxRegions (65536)
// regions. Reserved, not committed: only what the text fills is ever touched.
constexpr size_t kBufferSize = 128u << 20;
constexpr size_t kStackSize = 64u << 10;

}  // namespace

int SmapsPrefetch::thread_main(void* arg) {
  auto* self = static_cast<SmapsPrefetch*>(arg);
  long fd = bare_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/smaps"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    self->error_ = static_cast<int>(-fd);
    return 0;
  }
  size_t capacity = kBufferSize - 1;
  while (self->size_ < capacity) {
    long n = bare_syscall(SYS_read, fd, reinterpret_cast<long>(self->buffer_ + self->size_),
                          static_cast<long>(capacity - self->size_));
    if (n == -EINTR) {
      continue;
    }
    if (n < 0) {
      self->error_ = static_cast<int>(-n);
      break;
    }
    if (n == 0) {
      self->complete_ = true;
      break;
    }
    self->size_ += static_cast<size_t>(n);
  }
  bare_syscall(SYS_close, fd);
  return 0;  // glibc's clone returns here into an exit of this thread alone
}

bool SmapsPrefetch::start() {
  void* memory = mmap(nullptr, kBufferSize + kStackSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    return false;
  }
  buffer_ = static_cast<char*>(memory);
  char* stack_top = buffer_ + kBufferSize + kStackSize;
  // A thread of the writer: same memory, descriptors and signal handlers, every signal blocked.
  if (image::bare_thread_start(thread_main, this, reinterpret_cast<std::byte*>(stack_top), &thread_tid_) < 0) {
    munmap(buffer_, kBufferSize + kStackSize);
    buffer_ = nullptr;
    return false;
  }
  running_ = true;
  return true;
}

void SmapsPrefetch::wait() {
  if (!running_) {
    return;
  }
  image::bare_thread_join(&thread_tid_);
  // What the thread wrote is read after its exit was seen, also when no wait was needed (the kernel
  // cleared the word after the thread's last store; the fence keeps the compiler from reading early).
  std::atomic_thread_fence(std::memory_order_acquire);
  running_ = false;
}

SmapsText* SmapsPrefetch::finish() {
  wait();
  if (buffer_ == nullptr || !complete_ || error_ != 0) {
    return nullptr;
  }
  buffer_[size_] = '\0';
  text_ = {buffer_, size_};
  return &text_;
}

SmapsPrefetch::~SmapsPrefetch() {
  wait();
  if (buffer_ != nullptr) {
    munmap(buffer_, kBufferSize + kStackSize);
  }
}

}  // namespace crcore::runtime
