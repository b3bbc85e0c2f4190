/*
 * blocked_signal.c -- a program with one thread that blocks every signal with a raw
 * rt_sigprocmask system call, behind the back of crcore's sigprocmask guard, so that it can never
 * take the checkpoint signal. Usage: blocked_signal STEPS
 * Prints "blocker ready" once that thread has blocked its signals, "progress step N" about ten
 * times a second and at the end "answer: <hex>" (the same on every run).
 */
#define _GNU_SOURCE
#include <libcr.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int done;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void* blocker(void* arg) {
  (void)arg;
  uint64_t all = ~0ull; /* the kernel's sigset: 64 bits */
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, sizeof all) != 0) {
    perror("blocked_signal: rt_sigprocmask");
    exit(1);
  }
  printf("blocker ready\n");
  fflush(stdout);
  while (!done) {
    sleep_ms(10);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 50;
  if (cr_init() < 0) { /* linked with -lcr: checkpointable without cr_run */
    fprintf(stderr, "blocked_signal: cr_init failed\n");
    return 1;
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, blocker, NULL) != 0) {
    fprintf(stderr, "blocked_signal: cannot start a thread\n");
    return 1;
  }
  sleep_ms(100); /* "blocker ready" comes before the first step */
  uint64_t h = 1469598103934665603ull;
  for (int i = 1; i <= steps; ++i) {
    for (int k = 0; k < 100000; ++k) {
      h = (h ^ (uint64_t)(i * 31 + k)) * 1099511628211ull;
    }
    printf("progress step %d\n", i);
    fflush(stdout);
    sleep_ms(100);
  }
  done = 1;
  pthread_join(thread, NULL);
  printf("answer: %016llx\n", (unsigned long long)h);
  return 0;
}
