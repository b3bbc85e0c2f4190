// ZstdWorkspace: the constructor and destructor run in normal context (mmap/munmap);
// compress() is async-signal-safe (ZSTD_compressCCtx on a static context never allocates).
#include "image/zstd_workspace.h"

#include <sys/mman.h>

#if CRCORE_HAVE_ZSTD
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#endif

namespace crcore::image {

#if CRCORE_HAVE_ZSTD

ZstdWorkspace::ZstdWorkspace(int level) noexcept : level_(level) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    error_ = "zstd level out of range";
    return;
  }
  // Large enough for any source size at this level (the estimate covers the largest).
  size_t size = ZSTD_estimateCCtxSize(level);
  if (size == 0) {
    error_ = "zstd cannot size a static context for this level";
    return;
  }
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    error_ = "cannot map the zstd workspace";
    return;
  }
  memory_ = memory;
  memory_size_ = size;
  context_ = ZSTD_initStaticCCtx(memory_, memory_size_);
  if (context_ == nullptr) {
    error_ = "ZSTD_initStaticCCtx failed";
  }
}

ZstdWorkspace::~ZstdWorkspace() {
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

#else  // !CRCORE_HAVE_ZSTD

ZstdWorkspace::ZstdWorkspace(int level) noexcept : level_(level), error_("crcore was built without zstd") {}

ZstdWorkspace::~ZstdWorkspace() = default;

size_t ZstdWorkspace::compress(void*, size_t, const void*, size_t) noexcept { return 0; }

#endif

}  // namespace crcore::image
