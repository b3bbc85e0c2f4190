/*
 * counter.c -- a deterministic multithreaded computation, used by crcore's demo (scripts/demo.sh) and
 * end-to-end tests (tests/e2e/). It knows nothing of crcore: run it under cr_run, checkpoint it, restart
 * it, and it must print exactly what an uninterrupted run prints.
 *
 * Usage: counter [STEPS]     (default 20 steps, about 0.25 s each)
 *
 * Output: "counter: STEPS steps, 8 worker threads", then "progress step N" every second step (and at the
 * last one), then "answer: <16 hex digits>", a checksum of every thread's work. The output depends only on
 * STEPS: never on timing, scheduling, pids or where a checkpoint happened. Exit status 0; 2 on bad usage.
 *
 * Threads, chosen so that a checkpoint finds them in different states:
 *   4 compute threads  CPU-heavy integer and floating-point recurrence over their own heap arrays (4 MiB
 *                      each), one slice of work per step; _Thread_local accumulators feed the answer.
 *   1 feeder thread    writes a deterministic byte stream into a pipe, a little every step.
 *   1 reader thread    blocks in read() on that pipe and hashes what arrives, until end of file.
 *   1 waiter thread    sleeps on a condition variable until main advances a shared counter.
 *   1 spawner thread   creates and joins short-lived threads every step (they use _Thread_local too).
 *   main               hands out the steps, prints progress, paces the run with nanosleep, joins everyone.
 *
 * Rules for this file: plain C11 + POSIX, no crcore headers; every blocking call retries on EINTR (a
 * checkpoint or restart may interrupt it); nothing that feeds the answer may depend on time.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
  kComputeThreads = 4,
  kSteppedThreads = kComputeThreads + 2, /* compute threads, feeder, spawner: they report each step */
  kArrayWords = (2 * 1024 * 1024) / 8,   /* 2 MiB of integers + 2 MiB of doubles per compute thread */
  kPassesPerStep = 64,
  kFeedBytesPerStep = 3000,
  kSpawnPerStep = 3,
  kMaxSteps = 1000000,
};
static const long kStepNanos = 250L * 1000 * 1000;

/* ---- mixing ---------------------------------------------------------------------------------------- */

static uint64_t Mix(uint64_t h, uint64_t v) {
  /* splitmix64 finaliser over the running hash: order-sensitive, no weak bits. */
  uint64_t z = h ^ (v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t DoubleBits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static void Fail(const char* what, int err) {
  fprintf(stderr, "counter: %s: %s\n", what, strerror(err));
  exit(1);
}

/* ---- thread-local state ---------------------------------------------------------------------------- */

/* Initialised TLS (.tdata) and zeroed TLS (.tbss): both must survive a restart. */
static _Thread_local uint64_t tl_seed = 0x243F6A8885A308D3ull;
static _Thread_local uint64_t tl_acc;

/* ---- step hand-out --------------------------------------------------------------------------------- */

static pthread_mutex_t step_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t step_cv = PTHREAD_COND_INITIALIZER; /* main -> workers: a new step (or quit) */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* workers -> main: step finished */
static int cur_step;                                      /* guarded by step_mu */
static int quitting;                                      /* guarded by step_mu */
static int done_count;                                    /* guarded by step_mu */

static void Lock(pthread_mutex_t* mu) {
  int rc = pthread_mutex_lock(mu);
  if (rc != 0) {
    Fail("pthread_mutex_lock", rc);
  }
}

static void Unlock(pthread_mutex_t* mu) {
  int rc = pthread_mutex_unlock(mu);
  if (rc != 0) {
    Fail("pthread_mutex_unlock", rc);
  }
}

/* Blocks until a step after `last` is handed out; returns it, or 0 when the run is over. */
static int AwaitStep(int last) {
  int step;
  Lock(&step_mu);
  while (cur_step == last && !quitting) {
    pthread_cond_wait(&step_cv, &step_mu);
  }
  step = quitting ? 0 : cur_step;
  Unlock(&step_mu);
  return step;
}

static void ReportStepDone(void) {
  Lock(&step_mu);
  if (++done_count == kSteppedThreads) {
    pthread_cond_signal(&done_cv);
  }
  Unlock(&step_mu);
}

/* ---- compute threads ------------------------------------------------------------------------------- */

struct Compute {
  pthread_t thread;
  int index;
  uint64_t result;
};

static void ComputeStep(uint64_t* ints, double* reals, int step) {
  for (int pass = 0; pass < kPassesPerStep; ++pass) {
    uint64_t carry = (uint64_t)step * 0x100000001B3ull + (uint64_t)pass;
    for (size_t k = 0; k < kArrayWords; ++k) {
      uint64_t next = ints[(k + 1) & (kArrayWords - 1)];
      ints[k] = ints[k] * 6364136223846793005ull + (next ^ carry);
      carry = (carry >> 7) ^ ints[k];
      /* Stays in [0, 2): exact, repeatable IEEE arithmetic (no overflow, no denormals). */
      reals[k] = reals[k] * 0.5 + (double)(ints[k] >> 11) * 0x1p-53;
      if ((k & 4095) == 0) {
        tl_acc = Mix(tl_acc, ints[k] ^ DoubleBits(reals[k]));
      }
    }
  }
  tl_seed = Mix(tl_seed, (uint64_t)step);
}

static void* ComputeMain(void* arg) {
  struct Compute* self = arg;
  uint64_t* ints = malloc(kArrayWords * sizeof *ints);
  double* reals = malloc(kArrayWords * sizeof *reals);
  uint64_t h = (uint64_t)self->index;
  int last = 0;
  int step;

  if (ints == NULL || reals == NULL) {
    Fail("malloc", ENOMEM);
  }
  for (size_t k = 0; k < kArrayWords; ++k) {
    h = Mix(h, k);
    ints[k] = h;
    reals[k] = (double)(h >> 11) * 0x1p-53;
  }
  tl_acc = (uint64_t)self->index;
  while ((step = AwaitStep(last)) != 0) {
    ComputeStep(ints, reals, step);
    last = step;
    ReportStepDone();
  }
  h = Mix(tl_acc, tl_seed);
  for (size_t k = 0; k < kArrayWords; ++k) {
    h = Mix(h, ints[k] ^ DoubleBits(reals[k]));
  }
  self->result = h;
  free(ints);
  free(reals);
  return NULL;
}

/* ---- pipe: feeder and reader ----------------------------------------------------------------------- */

static int pipe_fds[2];
static uint64_t reader_hash;
static uint64_t reader_bytes;

static void WriteAll(int fd, const unsigned char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      Fail("write to pipe", errno);
    }
    buf += n;
    len -= (size_t)n;
  }
}

static void* FeederMain(void* arg) {
  unsigned char buf[kFeedBytesPerStep];
  int last = 0;
  int step;

  (void)arg;
  while ((step = AwaitStep(last)) != 0) {
    uint64_t x = Mix(0xFEEDull, (uint64_t)step);
    for (size_t i = 0; i < sizeof buf; ++i) {
      x = x * 2862933555777941757ull + 3037000493ull;
      buf[i] = (unsigned char)(x >> 56);
    }
    /* Several writes, so the reader sees the stream arrive in pieces. */
    WriteAll(pipe_fds[1], buf, 1000);
    WriteAll(pipe_fds[1], buf + 1000, sizeof buf - 1000);
    last = step;
    ReportStepDone();
  }
  close(pipe_fds[1]); /* the reader sees end of file */
  return NULL;
}

static void* ReaderMain(void* arg) {
  unsigned char buf[512];
  uint64_t h = 0x5EADull;

  (void)arg;
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      Fail("read from pipe", errno);
    }
    if (n == 0) {
      break;
    }
    /* Byte by byte: the hash must not depend on how the stream was split into reads. */
    for (ssize_t i = 0; i < n; ++i) {
      h = h * 1099511628211ull ^ buf[i];
    }
    reader_bytes += (uint64_t)n;
  }
  reader_hash = Mix(h, reader_bytes);
  return NULL;
}

/* ---- waiter: condition variable + shared counter --------------------------------------------------- */

static pthread_mutex_t tick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick_cv = PTHREAD_COND_INITIALIZER;
static int ticks;       /* guarded by tick_mu; main sets it to the step just finished */
static int ticks_final; /* guarded by tick_mu; 1 once ticks will not grow any more */
static uint64_t waiter_result;

static void* WaiterMain(void* arg) {
  int seen = 0;
  uint64_t h = 0xC0DEull;

  (void)arg;
  Lock(&tick_mu);
  for (;;) {
    while (seen == ticks && !ticks_final) {
      pthread_cond_wait(&tick_cv, &tick_mu);
    }
    /* Counts every value, however late it woke up: the sum never depends on timing. */
    while (seen < ticks) {
      ++seen;
      h = Mix(h, (uint64_t)seen * (uint64_t)seen);
      tl_acc += (uint64_t)seen;
    }
    if (ticks_final && seen == ticks) {
      break;
    }
  }
  Unlock(&tick_mu);
  waiter_result = Mix(h, tl_acc);
  return NULL;
}

/* ---- spawner: short-lived threads ------------------------------------------------------------------ */

struct Spawned {
  pthread_t thread;
  uint64_t input;
  uint64_t output;
};

static void* SpawnedMain(void* arg) {
  struct Spawned* self = arg;
  /* A new thread starts from the initial TLS image, whatever other threads did to theirs. */
  uint64_t h = Mix(tl_seed, self->input) ^ tl_acc;
  for (int i = 0; i < 20000; ++i) {
    tl_acc += h >> 3;
    h = Mix(h, (uint64_t)i);
  }
  self->output = Mix(h, tl_acc);
  return NULL;
}

static uint64_t spawner_result;

static void* SpawnerMain(void* arg) {
  struct Spawned kids[kSpawnPerStep];
  uint64_t h = 0x5A17ull;
  int last = 0;
  int step;

  (void)arg;
  while ((step = AwaitStep(last)) != 0) {
    for (int i = 0; i < kSpawnPerStep; ++i) {
      int rc;
      kids[i].input = (uint64_t)step * kSpawnPerStep + (uint64_t)i;
      kids[i].output = 0;
      while ((rc = pthread_create(&kids[i].thread, NULL, SpawnedMain, &kids[i])) == EAGAIN) {
        sched_yield();
      }
      if (rc != 0) {
        Fail("pthread_create", rc);
      }
    }
    for (int i = 0; i < kSpawnPerStep; ++i) {
      int rc = pthread_join(kids[i].thread, NULL);
      if (rc != 0) {
        Fail("pthread_join", rc);
      }
      h = Mix(h, kids[i].output);
    }
    last = step;
    ReportStepDone();
  }
  spawner_result = h;
  return NULL;
}

/* ---- main ------------------------------------------------------------------------------------------ */

static long ElapsedNanos(const struct timespec* from) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - from->tv_sec) * 1000000000L + (now.tv_nsec - from->tv_nsec);
}

/* Sleeps what is left of this step's 0.25 s. The clock may jump across a checkpoint and restart (even
 * backwards, on another boot): a nonsense remainder is clamped, and the answer never depends on it. */
static void PaceStep(const struct timespec* step_start) {
  long left = kStepNanos - ElapsedNanos(step_start);
  struct timespec req;
  struct timespec rem;

  if (left <= 0 || left > kStepNanos) {
    return;
  }
  req.tv_sec = 0;
  req.tv_nsec = left;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) {
    req = rem;
  }
}

static void StartThread(pthread_t* thread, void* (*fn)(void*), void* arg) {
  int rc = pthread_create(thread, NULL, fn, arg);
  if (rc != 0) {
    Fail("pthread_create", rc);
  }
}

static void JoinThread(pthread_t thread) {
  int rc = pthread_join(thread, NULL);
  if (rc != 0) {
    Fail("pthread_join", rc);
  }
}

int main(int argc, char** argv) {
  struct Compute compute[kComputeThreads];
  pthread_t feeder;
  pthread_t reader;
  pthread_t waiter;
  pthread_t spawner;
  long steps = 20;
  uint64_t answer;

  if (argc > 2) {
    fprintf(stderr, "usage: counter [STEPS]\n");
    return 2;
  }
  if (argc == 2) {
    char* end = NULL;
    errno = 0;
    steps = strtol(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || steps < 1 || steps > kMaxSteps) {
      fprintf(stderr, "counter: STEPS must be an integer from 1 to %d, not '%s'\n", kMaxSteps, argv[1]);
      return 2;
    }
  }
  printf("counter: %ld steps, 8 worker threads\n", steps);
  fflush(stdout);

  if (pipe(pipe_fds) != 0) {
    Fail("pipe", errno);
  }
  for (int i = 0; i < kComputeThreads; ++i) {
    compute[i].index = i + 1;
    compute[i].result = 0;
    StartThread(&compute[i].thread, ComputeMain, &compute[i]);
  }
  StartThread(&feeder, FeederMain, NULL);
  StartThread(&reader, ReaderMain, NULL);
  StartThread(&waiter, WaiterMain, NULL);
  StartThread(&spawner, SpawnerMain, NULL);

  tl_acc = 0x3A1Dull;
  for (int step = 1; step <= steps; ++step) {
    struct timespec step_start;
    clock_gettime(CLOCK_MONOTONIC, &step_start);

    Lock(&step_mu);
    cur_step = step;
    done_count = 0;
    pthread_cond_broadcast(&step_cv);
    while (done_count < kSteppedThreads) {
      pthread_cond_wait(&done_cv, &step_mu);
    }
    Unlock(&step_mu);

    Lock(&tick_mu);
    ticks = step;
    pthread_cond_signal(&tick_cv);
    Unlock(&tick_mu);

    tl_acc = Mix(tl_acc, (uint64_t)step);
    if (step % 2 == 0 || step == steps) {
      printf("progress step %d\n", step);
      fflush(stdout);
    }
    PaceStep(&step_start);
  }

  Lock(&step_mu);
  quitting = 1;
  pthread_cond_broadcast(&step_cv);
  Unlock(&step_mu);
  Lock(&tick_mu);
  ticks_final = 1;
  pthread_cond_signal(&tick_cv);
  Unlock(&tick_mu);

  for (int i = 0; i < kComputeThreads; ++i) {
    JoinThread(compute[i].thread);
  }
  JoinThread(feeder);
  JoinThread(reader);
  JoinThread(waiter);
  JoinThread(spawner);
  close(pipe_fds[0]);

  answer = Mix(tl_acc, tl_seed);
  for (int i = 0; i < kComputeThreads; ++i) {
    answer = Mix(answer, compute[i].result);
  }
  answer = Mix(answer, reader_hash);
  answer = Mix(answer, reader_bytes);
  answer = Mix(answer, waiter_result);
  answer = Mix(answer, spawner_result);
  printf("answer: %016" PRIx64 "\n", answer);
  return fflush(stdout) == 0 ? 0 : 1;
}
