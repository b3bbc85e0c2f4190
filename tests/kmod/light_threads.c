/*
 * light_threads.c -- a small deterministic multithreaded program for the kmod guest, where QEMU's TCG
 * runs code tens of times slower than the host (counter.c's compute threads take minutes there).
 *
 * Usage: light_threads STEPS     (about 0.2 s per step)
 * Output: "light_threads: STEPS steps, 5 threads", "progress step N" at every step, then
 * "answer: <16 hex digits>", which depends only on STEPS. Threads: 2 compute threads (a little integer
 * work per step, _Thread_local accumulators), a pipe reader blocked in read(), a waiter blocked on a
 * condition variable, and main (pacing with nanosleep). Every blocking call retries on EINTR.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { kCompute = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long step_now; /* guarded by lock: the step main has handed out */
static long done_by[kCompute];
static long steps;
static uint64_t compute_result[kCompute];
static uint64_t reader_result, waiter_result;
static int pipe_fds[2];
static _Thread_local uint64_t acc;

static void* compute(void* arg) {
  long id = (long)arg;
  acc = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
  for (long s = 1; s <= steps; ++s) {
    pthread_mutex_lock(&lock);
    while (step_now < s)
      pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 20000; ++i)
      acc = acc * 6364136223846793005ull + (uint64_t)(s * 31 + i);
    pthread_mutex_lock(&lock);
    done_by[id] = s;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
  }
  compute_result[id] = acc;
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  uint64_t h = 1469598103934665603ull;
  unsigned char buf[64];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; ++i)
      h = (h ^ buf[i]) * 1099511628211ull;
  }
  reader_result = h;
  return NULL;
}

static void* waiter(void* arg) {
  (void)arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&lock);
  for (long s = 1; s <= steps; ++s) {
    while (step_now < s)
      pthread_cond_wait(&changed, &lock);
    seen = seen * 31 + (uint64_t)s;
  }
  pthread_mutex_unlock(&lock);
  waiter_result = seen;
  return NULL;
}

static void pause_briefly(void) {
  struct timespec ts = {0, 200 * 1000 * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int main(int argc, char** argv) {
  steps = argc > 1 ? strtol(argv[1], NULL, 10) : 20;
  if (steps < 1 || steps > 100000) {
    fprintf(stderr, "light_threads: STEPS must be 1..100000\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("light_threads: %ld steps, %d threads\n", steps, kCompute + 3);
  if (pipe(pipe_fds) != 0)
    return 1;
  pthread_t threads[kCompute + 2];
  for (long i = 0; i < kCompute; ++i)
    pthread_create(&threads[i], NULL, compute, (void*)i);
  pthread_create(&threads[kCompute], NULL, reader, NULL);
  pthread_create(&threads[kCompute + 1], NULL, waiter, NULL);
  for (long s = 1; s <= steps; ++s) {
    pthread_mutex_lock(&lock);
    step_now = s;
    pthread_cond_broadcast(&changed);
    for (int i = 0; i < kCompute; ++i)
      while (done_by[i] < s)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    unsigned char byte = (unsigned char)(s * 7);
    while (write(pipe_fds[1], &byte, 1) < 0 && errno == EINTR) {
    }
    printf("progress step %ld\n", s);
    pause_briefly();
  }
  close(pipe_fds[1]);
  for (int i = 0; i < kCompute + 2; ++i)
    pthread_join(threads[i], NULL);
  uint64_t answer = reader_result ^ (waiter_result << 1);
  for (int i = 0; i < kCompute; ++i)
    answer = answer * 1000003ull ^ compute_result[i];
  printf("answer: %016" PRIx64 "\n", answer);
  return 0;
}
