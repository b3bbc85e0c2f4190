/* A program whose memory changes a little at every step, in every way an incremental checkpoint must
 * follow: pages rewritten (about 5% of a 32 MiB buffer per step), pages set to zero, pages discarded
 * (MADV_DONTNEED), a window made read-only and writable again (mprotect), a mapping that grows and
 * moves (mremap), a mapping replaced by a new one (munmap + mmap), the heap, and a mapping split in
 * three for good at step 15 (mprotect of 4 pages in its middle, never written again: an older image saved
 * its pages as one run across what later are three regions, which a newer image inherits). Everything it does
 * depends on the step number only, so its output is the same however it is checkpointed, killed and
 * restarted: "progress step N sum S" per step (S covers all of that memory), then "done".
 *
 * Usage: dirty_memory STEPS   (0.1 s per step) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define BIG_PAGES 8192u /* 32 MiB */

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x9e3779b97f4a7c15ull;
  x ^= x >> 29;
  return x;
}

static void fill_page(uint64_t* page, uint64_t seed) {
  for (unsigned i = 0; i < PAGE / 8; ++i) {
    page[i] = mix(seed + i);
  }
}

static uint64_t sum_words(const uint64_t* p, size_t bytes, uint64_t s) {
  for (size_t i = 0; i < bytes / 8; i += 7) {
    s = mix(s ^ p[i]);
  }
  return s;
}

static void* map_anon(size_t bytes) {
  void* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(2);
  }
  return p;
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 100;
  setvbuf(stdout, NULL, _IOLBF, 0);
  uint64_t* big = map_anon((size_t)BIG_PAGES * PAGE);
  for (unsigned p = 0; p < BIG_PAGES; ++p) {
    if (p % 11 != 5) { /* some pages stay untouched (zero) */
      fill_page(big + (size_t)p * PAGE / 8, p);
    }
  }
  size_t moving_size = 64 * PAGE;
  uint64_t* moving = map_anon(moving_size);
  for (size_t p = 0; p < moving_size / PAGE; ++p) {
    fill_page(moving + p * PAGE / 8, 1000000 + p);
  }
  size_t fresh_size = 256 * PAGE;
  uint64_t* fresh = map_anon(fresh_size);
  memset(fresh, 0x5a, fresh_size);
  uint64_t* heap = malloc(64 * 1024);
  memset(heap, 0, 64 * 1024);
  size_t split_size = 64 * PAGE;
  uint64_t* split = map_anon(split_size);
  for (size_t p = 0; p < split_size / PAGE; ++p) {
    fill_page(split + p * PAGE / 8, 4000000 + p);
  }

  for (int s = 1; s <= steps; ++s) {
    if (s % 7 == 4) { /* the window made read-only at the end of the last step is writable again */
      mprotect(big + (size_t)1024 * PAGE / 8, 16 * PAGE, PROT_READ | PROT_WRITE);
      big[(size_t)1024 * PAGE / 8] = (uint64_t)s;
    }
    /* about 5% of the big buffer rewritten */
    for (unsigned p = (unsigned)s % 20; p < BIG_PAGES; p += 20) {
      big[(size_t)p * PAGE / 8 + (unsigned)s % 512] = mix((uint64_t)s * 131 + p);
    }
    /* a page set to zero by writing */
    memset(big + (size_t)((s * 37) % BIG_PAGES) * PAGE / 8, 0, PAGE);
    if (s % 6 == 2) { /* discarded pages read back as zero */
      madvise(big + (size_t)((s * 101) % (BIG_PAGES - 8)) * PAGE / 8, 8 * PAGE, MADV_DONTNEED);
    }
    if (s % 9 == 4 && moving_size < 1024 * PAGE) { /* grows, and may move */
      void* m = mremap(moving, moving_size, moving_size + 16 * PAGE, MREMAP_MAYMOVE);
      if (m == MAP_FAILED) {
        perror("mremap");
        return 2;
      }
      moving = m;
      fill_page(moving + moving_size / 8, 2000000 + (uint64_t)s);
      moving_size += 16 * PAGE;
    }
    moving[(size_t)(s % (int)(moving_size / PAGE)) * PAGE / 8 + 3] ^= mix((uint64_t)s);
    if (s % 5 == 0) { /* a mapping replaced by a new one */
      munmap(fresh, fresh_size);
      fresh = map_anon(fresh_size);
      for (size_t p = 0; p < fresh_size / PAGE; p += 3) {
        fill_page(fresh + p * PAGE / 8, 3000000 + (uint64_t)s * 1000 + p);
      }
    }
    heap[(unsigned)s % (64 * 1024 / 8)] = mix((uint64_t)s + 7);
    if (s == 15) { /* split in three for good; its pages are never written again */
      mprotect(split + (size_t)20 * PAGE / 8, 4 * PAGE, PROT_READ);
    }
    if (s % 7 == 3) { /* a read-only window until the next step */
      mprotect(big + (size_t)1024 * PAGE / 8, 16 * PAGE, PROT_READ);
    }

    uint64_t sum = sum_words(big, (size_t)BIG_PAGES * PAGE, 0);
    sum = sum_words(moving, moving_size, sum);
    sum = sum_words(fresh, fresh_size, sum);
    sum = sum_words(heap, 64 * 1024, sum);
    sum = sum_words(split, split_size, sum);
    printf("progress step %d sum %016llx\n", s, (unsigned long long)sum);
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  printf("done\n");
  return 0;
}
