// What the runtime must know about glibc's per-thread data to restore threads faithfully:
// where struct pthread caches the kernel tid (so the restart stage can let the kernel write the
// new tid there, through CLONE_CHILD_SETTID), and how glibc registered rseq.
#pragma once

#include <cstdint>

namespace crcore::runtime {

struct GlibcLayout {
  uint32_t tid_offset = 0;  // from the thread pointer to pthread->tid; 0 if not found
  bool rseq_registered = false;
  int64_t rseq_offset = 0;  // __rseq_offset
  uint32_t rseq_size = 0;   // __rseq_size
  uint32_t rseq_registration_len = 0;
  uint32_t rseq_signature = 0;
};

// Discovers the layout once (normal context). Later calls return the cached answer and are
// async-signal-safe.
const GlibcLayout& glibc_layout();
void discover_glibc_layout();

}  // namespace crcore::runtime
