/* Shared memory that changes while the copy-on-write writer works (case: copy-on-write).
 *
 * A forked writer shares MAP_SHARED pages with the program instead of holding a frozen copy of
 * them, so the checkpoint must copy them while the threads are stopped. Here a thread rewrites the
 * blocks of a shared anonymous mapping and of a mapped memfd without pause, before and after the
 * checkpoint: each block holds its generation in every word, and a table (in the same shared
 * memory) the generation it was last completed with. The block being rewritten at the checkpoint
 * is finished by the restored thread; every other block must match its table entry. A torn image
 * (pages saved at different moments) shows as blocks that do not. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "case.h"

enum { kBlocks = 512, kBlockWords = 4096 }; /* 32 KiB blocks, 16 MiB per mapping */

struct shared_area {
  volatile uint64_t done[kBlocks]; /* the generation each block was last completed with */
  uint64_t words[kBlocks][kBlockWords];
};

static struct shared_area* areas[2];
static volatile int stop;

static void* rewrite(void* arg) {
  (void)arg;
  for (uint64_t generation = 1; !stop; ++generation) {
    for (int b = 0; b < kBlocks && !stop; ++b) {
      for (int a = 0; a < 2; ++a) {
        for (int w = 0; w < kBlockWords; ++w) {
          areas[a]->words[b][w] = generation;
        }
        __atomic_store_n(&areas[a]->done[b], generation, __ATOMIC_RELEASE);
      }
    }
  }
  return NULL;
}

/* The blocks whose words differ from their table entry. */
static int torn_blocks(const struct shared_area* area) {
  int torn = 0;
  for (int b = 0; b < kBlocks; ++b) {
    for (int w = 0; w < kBlockWords; ++w) {
      if (area->words[b][w] != area->done[b]) {
        ++torn;
        break;
      }
    }
  }
  return torn;
}

int main(void) {
  size_t size = sizeof(struct shared_area);
  areas[0] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int fd = memfd_create("case-shared", 0);
  if (areas[0] == MAP_FAILED || fd < 0 || ftruncate(fd, (off_t)size) != 0)
    case_fail("shared memory");
  areas[1] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (areas[1] == MAP_FAILED)
    case_fail("mmap memfd");
  close(fd); /* mapped only: an open memfd is refused (memfd_mapped) */
  pthread_t writer;
  if (pthread_create(&writer, NULL, rewrite, NULL) != 0)
    case_fail("pthread_create");
  while (__atomic_load_n(&areas[1]->done[kBlocks - 1], __ATOMIC_ACQUIRE) == 0)
    case_sleep_ms(1);
  case_ready();
  case_wait_go();
  stop = 1;
  pthread_join(writer, NULL);
  case_print("anonymous shared: %d torn blocks of %d\n", torn_blocks(areas[0]), kBlocks);
  case_print("memfd: %d torn blocks of %d\n", torn_blocks(areas[1]), kBlocks);
  return 0;
}
