/* The protocol of a checkpoint/restart case (tests/cases/README.md), for the case programs.
 *
 * case_ready(): the resource is live; creates $CRCORE_CASE_READY holding this process's pid.
 * case_wait_go(): polls every 10 ms until $CRCORE_CASE_GO exists (the runner has checkpointed,
 * killed and restarted the process in between, or not at all).
 * case_fail(): prints why on stderr and exits 1.
 * case_after_kill(): leaves a shell command for the runner to run between the kill and the restart.
 * Plain C, header only: each case is one self-contained program. */
#ifndef CRCORE_TESTS_CASE_H
#define CRCORE_TESTS_CASE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void case_fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "case failed: ");
  vfprintf(stderr, format, args);
  fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno));
  va_end(args);
  exit(1);
}

static const char* case_env(const char* name) {
  const char* value = getenv(name);
  if (value == NULL || value[0] == '\0') {
    fprintf(stderr, "case failed: %s is not set (run me from tests/cases/run_cases.sh)\n", name);
    exit(2);
  }
  return value;
}

static void case_ready(void) {
  const char* path = case_env("CRCORE_CASE_READY");
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (f == NULL) {
    case_fail("cannot create %s", tmp);
  }
  fprintf(f, "%d\n", (int)getpid());
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    case_fail("cannot create %s", path);
  }
}

static void case_sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

static void case_wait_go(void) {
  const char* path = case_env("CRCORE_CASE_GO");
  while (access(path, F_OK) != 0) {
    case_sleep_ms(10);
  }
}

/* Commands (a shell line) the runner runs after the checkpointed run was killed and before it is
 * restarted (only then): a file `after-kill` in the working directory, which is the case's own. */
static void case_after_kill(const char* command) {
  FILE* f = fopen("after-kill", "w");
  if (f == NULL || fprintf(f, "%s\n", command) < 0 || fclose(f) != 0) {
    case_fail("cannot write after-kill");
  }
}

/* Prints then flushes: the output file is reopened at its offset after a restart. */
#define case_print(...)  \
  do {                   \
    printf(__VA_ARGS__); \
    fflush(stdout);      \
  } while (0)

#endif
