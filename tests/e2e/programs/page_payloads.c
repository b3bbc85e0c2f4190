/*
 * page_payloads.c -- a process whose memory is mostly page payloads, for tests/e2e/validation_overlap.sh.
 * It knows nothing of crcore.
 *
 * Usage: page_payloads MIB STEPS [LOCKFILE]
 *   Fills MIB MiB of anonymous memory with a deterministic pattern; each MiB starts with the marker
 *   "crcore-e2e-payload-mib-NNNN" so that a test can find a page payload in an uncompressed image. With
 *   LOCKFILE, holds flock(LOCK_EX) on it (a restart then takes the lock again: something others see).
 *   Prints "ready", then "step N" every 20 ms for N = 1..STEPS, then checks the whole pattern and prints
 *   "memory OK" (or "memory BAD at MiB K") and exits 0. The output depends only on the arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1u << 20)

static void fill(unsigned char* mib, unsigned k) {
  uint64_t* w = (uint64_t*)mib;
  for (size_t i = 0; i < MIB / 8; ++i) {
    w[i] = (uint64_t)k * (MIB / 8) + i;  // compressible: zstd gets something to do
  }
  snprintf((char*)mib, 64, "crcore-e2e-payload-mib-%04u", k);
}

static int intact(const unsigned char* mib, unsigned k) {
  static unsigned char want[MIB];
  fill(want, k);
  return memcmp(want, mib, MIB) == 0;
}

static void pause_20ms(void) {
  struct timespec t = {0, 20 * 1000 * 1000};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: page_payloads MIB STEPS [LOCKFILE]\n");
    return 2;
  }
  unsigned mibs = (unsigned)strtoul(argv[1], NULL, 10);
  int steps = atoi(argv[2]);
  unsigned char* memory = mmap(NULL, (size_t)mibs * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    perror("page_payloads: mmap");
    return 1;
  }
  for (unsigned k = 0; k < mibs; ++k) {
    fill(memory + (size_t)k * MIB, k);
  }
  if (argc == 4) {
    int fd = open(argv[3], O_RDWR | O_CREAT, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
      perror("page_payloads: lock");
      return 1;
    }
  }
  printf("ready\n");
  fflush(stdout);
  for (int n = 1; n <= steps; ++n) {
    pause_20ms();
    printf("step %d\n", n);
    fflush(stdout);
  }
  for (unsigned k = 0; k < mibs; ++k) {
    if (!intact(memory + (size_t)k * MIB, k)) {
      printf("memory BAD at MiB %u\n", k);
      return 0;
    }
  }
  printf("memory OK\n");
  return 0;
}
