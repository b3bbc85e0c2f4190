/* bench/workload.c: a memory-heavy multithreaded program for the checkpoint/restart benchmark.
 *
 *   workload SIZE_MIB THREADS [SECONDS]
 *
 * Allocates SIZE_MIB MiB (one anonymous mapping per thread), fills it with smooth numeric data (doubles
 * of a slowly varying function, as HPC arrays are), prints "ready" once every thread has filled its part,
 * then each thread keeps rewriting one small block of its part at a time (about 64 KiB every 2 ms, so
 * the program stays light on the CPU while the checkpointer runs). On SIGUSR1 it prints "alive N"; on
 * SIGUSR2 it prints "gap MICROSECONDS", the longest time any thread took between two rewrites since the
 * previous SIGUSR2 (normally about 2 ms: a longer gap is a stall the program felt, such as a pause); on
 * SIGTERM, SIGINT or after SECONDS (0 or absent: run until signalled) it stops the threads, checks every
 * double against the value it must hold, and prints "checksum HEX" and "verify OK" (exit 0) or
 * "verify FAILED ..." (exit 1).
 *
 * It uses nothing crcore or CRIU cannot restore: no sockets, eventfds or timers; stdout should be a
 * regular file (opened for append) or a terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kBlockDoubles = 8192 }; /* one rewritten block: 64 KiB */
enum { kPageDoubles = 512 };   /* the smooth function is evaluated exactly once per 4 KiB page */

struct part {
  pthread_t thread;
  int index;
  double* data;
  size_t count;         /* doubles */
  size_t blocks;        /* count / kBlockDoubles, rounded up */
  uint32_t* generation; /* per block: how many times it has been rewritten */
  uint64_t first;       /* global index of data[0] */
  uint64_t max_gap_ns;  /* longest time between two rewrites since the last report */
};

static struct part* parts;
static int nparts;
static pthread_barrier_t filled;
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t alive_count;
static volatile sig_atomic_t gap_requested;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The value of double number i (global index) after its block has been rewritten gen times: a smooth
 * function of i (second-order Taylor expansion of sin around the start of its page, so that filling costs
 * one sin and one cos per page) plus gen. Deterministic, so the final check can recompute it. */
static inline double value_at(uint64_t i, double s0, double c0, uint32_t gen) {
  const double h = 1.0e-7;
  double d = (double)(i % kPageDoubles) * h;
  return 1.0 + s0 + c0 * d - 0.5 * s0 * d * d + (double)gen;
}

static inline void page_basis(uint64_t i, double* s0, double* c0) {
  const double h = 1.0e-7;
  double x = (double)(i - i % kPageDoubles) * h;
  *s0 = sin(x);
  *c0 = cos(x);
}

static void write_range(struct part* p, size_t from, size_t to, uint32_t gen) {
  size_t j = from;
  while (j < to) {
    uint64_t g = p->first + j;
    double s0, c0;
    page_basis(g, &s0, &c0);
    size_t end = j + (kPageDoubles - g % kPageDoubles);
    if (end > to)
      end = to;
    for (; j < end; j++)
      p->data[j] = value_at(p->first + j, s0, c0, gen);
  }
}

static void* worker(void* arg) {
  struct part* p = arg;
  write_range(p, 0, p->count, 0);
  pthread_barrier_wait(&filled);

  /* Steady state: rewrite one block, then sleep 2 ms. The block's values are written before its
   * generation is bumped; a checkpoint taken in between restores to the same point, and the thread
   * finishes the rewrite after restart. */
  size_t b = (size_t)p->index * 7919u % (p->blocks ? p->blocks : 1);
  const struct timespec nap = {0, 2 * 1000 * 1000};
  uint64_t last = now_ns();
  while (!stop_requested) {
    size_t from = b * kBlockDoubles;
    size_t to = from + kBlockDoubles;
    if (to > p->count)
      to = p->count;
    uint32_t gen = p->generation[b] + 1;
    write_range(p, from, to, gen);
    __atomic_store_n(&p->generation[b], gen, __ATOMIC_RELEASE);
    b = (b + 1) % p->blocks;
    nanosleep(&nap, NULL);
    uint64_t now = now_ns();
    if (now - last > __atomic_load_n(&p->max_gap_ns, __ATOMIC_RELAXED))
      __atomic_store_n(&p->max_gap_ns, now - last, __ATOMIC_RELAXED);
    last = now;
  }
  return NULL;
}

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void on_usr1(int sig) {
  (void)sig;
  char buf[32] = "alive ";
  int n = ++alive_count, len = 6;
  char digits[12];
  int k = 0;
  do {
    digits[k++] = (char)('0' + n % 10);
    n /= 10;
  } while (n > 0);
  while (k > 0)
    buf[len++] = digits[--k];
  buf[len++] = '\n';
  ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)len);
  (void)ignored;
}

static void on_usr2(int sig) {
  (void)sig;
  gap_requested = 1;
}

static void usage(void) {
  fprintf(stderr, "usage: workload SIZE_MIB THREADS [SECONDS]\n");
  exit(2);
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4)
    usage();
  char* end;
  unsigned long size_mib = strtoul(argv[1], &end, 10);
  if (*end || size_mib == 0)
    usage();
  long threads = strtol(argv[2], &end, 10);
  if (*end || threads < 1 || threads > 1024)
    usage();
  double seconds = argc == 4 ? strtod(argv[3], &end) : 0.0;
  if (argc == 4 && (*end || seconds < 0))
    usage();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);

  uint64_t total = (uint64_t)size_mib * 1024 * 1024 / sizeof(double);
  nparts = (int)threads;
  parts = calloc((size_t)nparts, sizeof *parts);
  if (!parts)
    return 1;
  uint64_t first = 0;
  for (int t = 0; t < nparts; t++) {
    struct part* p = &parts[t];
    p->index = t;
    p->first = first;
    p->count = (size_t)(total / (uint64_t)nparts + ((uint64_t)t < total % (uint64_t)nparts ? 1 : 0));
    first += p->count;
    size_t bytes = p->count * sizeof(double);
    if (bytes == 0)
      bytes = sizeof(double);
    /* From malloc, as an application's arrays are (glibc maps each part by itself; under
     * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as cr_run --hugepages sets, with huge pages). */
    p->data = malloc(bytes);
    if (p->data == NULL) {
      fprintf(stderr, "workload: malloc %zu bytes: %s\n", bytes, strerror(errno));
      return 1;
    }
    p->blocks = (p->count + kBlockDoubles - 1) / kBlockDoubles;
    if (p->blocks == 0)
      p->blocks = 1;
    p->generation = calloc(p->blocks, sizeof *p->generation);
    if (!p->generation)
      return 1;
  }

  pthread_barrier_init(&filled, NULL, (unsigned)nparts + 1);
  for (int t = 0; t < nparts; t++) {
    int rc = pthread_create(&parts[t].thread, NULL, worker, &parts[t]);
    if (rc) {
      fprintf(stderr, "workload: pthread_create: %s\n", strerror(rc));
      return 1;
    }
  }
  pthread_barrier_wait(&filled);
  printf("ready\n");
  fflush(stdout);

  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  const struct timespec tick = {0, 10 * 1000 * 1000};
  while (!stop_requested) {
    nanosleep(&tick, NULL);
    if (gap_requested) {
      gap_requested = 0;
      uint64_t gap = 0;
      for (int t = 0; t < nparts; t++) {
        uint64_t g = __atomic_exchange_n(&parts[t].max_gap_ns, 0, __ATOMIC_RELAXED);
        if (g > gap)
          gap = g;
      }
      printf("gap %llu\n", (unsigned long long)(gap / 1000));
      fflush(stdout);
    }
    if (seconds > 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      double elapsed = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
      if (elapsed >= seconds)
        stop_requested = 1;
    }
  }
  for (int t = 0; t < nparts; t++)
    pthread_join(parts[t].thread, NULL);

  /* Check every double and fold it into a checksum (FNV-1a over the bit patterns). */
  uint64_t sum = 1469598103934665603ull, bad = 0, first_bad = 0;
  for (int t = 0; t < nparts; t++) {
    struct part* p = &parts[t];
    double s0 = 0, c0 = 0;
    for (size_t j = 0; j < p->count; j++) {
      uint64_t g = p->first + j;
      if (j == 0 || g % kPageDoubles == 0)
        page_basis(g, &s0, &c0);
      double want = value_at(g, s0, c0, p->generation[j / kBlockDoubles]);
      uint64_t bits;
      memcpy(&bits, &p->data[j], sizeof bits);
      sum = (sum ^ bits) * 1099511628211ull;
      if (p->data[j] != want && bad++ == 0)
        first_bad = g;
    }
  }
  printf("checksum %016llx\n", (unsigned long long)sum);
  if (bad) {
    printf("verify FAILED: %llu of %llu doubles wrong, first at index %llu\n", (unsigned long long)bad,
           (unsigned long long)total, (unsigned long long)first_bad);
    fflush(stdout);
    return 1;
  }
  printf("verify OK\n");
  fflush(stdout);
  return 0;
}
