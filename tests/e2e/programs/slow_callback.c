/*
 * slow_callback.c -- a BLCR client whose thread-context callback takes its time, so that a
 * checkpoint can be interrupted while it is in phase 1. Usage: slow_callback STEPS CALLBACK_MS
 * Prints "progress step N" about ten times a second and at the end "answer: <hex>" (the same on
 * every run) plus how its checkpoints went: "checkpoints: continued A restarted B failed C".
 */
#define _POSIX_C_SOURCE 200809L
#include <libcr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long callback_ms;
static volatile int continued, restarted, failed;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int slow(void* arg) {
  (void)arg;
  sleep_ms(callback_ms); /* phase 1: the application still runs */
  int rc = cr_checkpoint(CR_CHECKPOINT_READY);
  if (rc == 0) {
    ++continued;
  } else if (rc > 0) {
    ++restarted;
  } else {
    ++failed;
  }
  return 0;
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 50;
  callback_ms = argc > 2 ? atol(argv[2]) : 2000;
  if (cr_init() < 0 || cr_register_callback(slow, NULL, CR_THREAD_CONTEXT) < 0) {
    fprintf(stderr, "slow_callback: cannot register a callback\n");
    return 1;
  }
  uint64_t h = 1469598103934665603ull;
  for (int i = 1; i <= steps; ++i) {
    for (int k = 0; k < 100000; ++k) {
      h = (h ^ (uint64_t)(i * 31 + k)) * 1099511628211ull;
    }
    printf("progress step %d\n", i);
    fflush(stdout);
    sleep_ms(100);
  }
  printf("answer: %016llx\n", (unsigned long long)h);
  printf("checkpoints: continued %d restarted %d failed %d\n", continued, restarted, failed);
  return 0;
}
