// Discovery of glibc's thread layout (see glibc_layout.h).
#include "runtime/glibc_layout.h"

#include <pthread.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runtime/raw_syscall.h"

namespace crcore::runtime {
namespace {

GlibcLayout g_layout;

// Offsets inside the first 4 KiB of struct pthread that hold the calling thread's tid.
int matching_offsets(uint32_t* out, int capacity) {
  auto* base = reinterpret_cast<const unsigned char*>(raw_get_fs_base());
  pid_t tid = raw_gettid();
  int n = 0;
  for (uint32_t off = 0; off + sizeof(pid_t) <= 4096 && n < capacity; off += sizeof(pid_t)) {
    pid_t value;
    memcpy(&value, base + off, sizeof value);
    if (value == tid) {
      out[n++] = off;
    }
  }
  return n;
}

struct Candidates {
  uint32_t offsets[16];
  int count;
};

void* probe_thread(void* arg) {
  auto* c = static_cast<Candidates*>(arg);
  c->count = matching_offsets(c->offsets, 16);
  return nullptr;
}

}  // namespace

const GlibcLayout& glibc_layout() { return g_layout; }

void discover_glibc_layout() {
  // The offset must hold the tid both in this thread and in a fresh one.
  uint32_t mine[16];
  int n = matching_offsets(mine, 16);
  Candidates other{};
  pthread_t t;
  if (pthread_create(&t, nullptr, probe_thread, &other) == 0) {
    pthread_join(t, nullptr);
  }
  for (int i = 0; i < n && g_layout.tid_offset == 0; ++i) {
    for (int j = 0; j < other.count; ++j) {
      if (other.offsets[j] == mine[i]) {
        g_layout.tid_offset = mine[i];
        break;
      }
    }
  }
  if (__rseq_size > 0) {
    g_layout.rseq_registered = true;
    g_layout.rseq_offset = __rseq_offset;
    g_layout.rseq_size = __rseq_size;
    // glibc 2.35-2.39 registers the 32-byte original struct rseq.
    g_layout.rseq_registration_len = __rseq_size < 32 ? 32 : __rseq_size;
    g_layout.rseq_signature = RSEQ_SIG;
  }
}

}  // namespace crcore::runtime
