/*
 * restore_features.c -- checks itself across checkpoint/restart: what a restored process must
 * still have. Usage: restore_features WORKDIR STEPS
 *   - files written through FILE* (buffered) and through a raw fd (pwrite/lseek), read back;
 *   - a MAP_SHARED file mapping updated every step, compared with the file at the end;
 *   - a signal handler (SIGUSR1, raised every step) and a thread that keeps SIGUSR2 blocked;
 *   - an alternate signal stack on one thread;
 *   - thread-local storage in every thread;
 *   - a mutex and condition variable handing work between two threads;
 *   - a thread blocked in read() on a pipe, fed one byte per step.
 * It prints one line per property at the end; the same lines must come out of an
 * uninterrupted run and of a run that was checkpointed, killed and restarted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAP_BYTES (1 << 20)

static volatile sig_atomic_t usr1_count;
static __thread uint64_t tls_value;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int work_ready, work_done, stop_all;
static uint64_t handoff_sum, reader_sum, tls_total;
static int feed[2];
static int mask_ok = 1, altstack_ok = 1;

static void on_usr1(int sig) {
  (void)sig;
  usr1_count = usr1_count + 1;
}

static void nap(void) {
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

static void* consumer(void* arg) {
  (void)arg;
  tls_value = 7;
  pthread_mutex_lock(&lock);
  while (!stop_all) {
    while (!work_ready && !stop_all) {
      pthread_cond_wait(&changed, &lock);
    }
    if (work_ready) {
      handoff_sum = mix(handoff_sum, (uint64_t)work_ready);
      tls_value = mix(tls_value, (uint64_t)work_ready);
      work_ready = 0;
      ++work_done;
      pthread_cond_broadcast(&changed);
    }
  }
  tls_total += tls_value;
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, NULL);
  tls_value = 11;
  char c;
  for (;;) {
    ssize_t n = read(feed[0], &c, 1); /* blocks here most of the time */
    if (n == 1 && c == 'q') {
      break;
    }
    if (n == 1) {
      reader_sum = mix(reader_sum, (uint64_t)(unsigned char)c);
      tls_value = mix(tls_value, (uint64_t)(unsigned char)c);
      sigset_t now;
      pthread_sigmask(SIG_SETMASK, NULL, &now);
      if (!sigismember(&now, SIGUSR2)) {
        mask_ok = 0;
      }
    } else if (n < 0 && errno != EINTR) {
      perror("read");
      exit(1);
    }
  }
  pthread_mutex_lock(&lock);
  tls_total += tls_value;
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void* alt_thread(void* arg) {
  (void)arg;
  static char stack_mem[65536];
  stack_t ss = {.ss_sp = stack_mem, .ss_size = sizeof stack_mem, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  tls_value = 13;
  for (;;) {
    pthread_mutex_lock(&lock);
    int stop = stop_all;
    pthread_mutex_unlock(&lock);
    if (stop) {
      break;
    }
    stack_t now;
    sigaltstack(NULL, &now);
    if (now.ss_sp != stack_mem || now.ss_size != sizeof stack_mem) {
      altstack_ok = 0;
    }
    tls_value = mix(tls_value, 1);
    nap();
  }
  pthread_mutex_lock(&lock);
  tls_total += tls_value > 0 ? 13 : 0; /* how many naps ran depends on timing: count presence only */
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3 || chdir(argv[1]) != 0) {
    fprintf(stderr, "usage: restore_features WORKDIR STEPS\n");
    return 2;
  }
  int steps = atoi(argv[2]);
  FILE* log = fopen("log.txt", "w");
  int raw = open("raw.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
  int mapped_fd = open("shared.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (log == NULL || raw < 0 || mapped_fd < 0 || ftruncate(mapped_fd, MAP_BYTES) != 0 || pipe(feed) != 0) {
    perror("setup");
    return 1;
  }
  unsigned char* shared = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, mapped_fd, 0);
  if (shared == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t t_consumer, t_reader, t_alt;
  pthread_create(&t_consumer, NULL, consumer, NULL);
  pthread_create(&t_reader, NULL, reader, NULL);
  pthread_create(&t_alt, NULL, alt_thread, NULL);
  tls_value = 3;
  printf("restore_features: %d steps\n", steps);
  fflush(stdout);
  for (int i = 1; i <= steps; ++i) {
    fprintf(log, "step %d\n", i); /* stays in the FILE* buffer between flushes */
    if (i % 5 == 0) {
      fflush(log);
    }
    uint64_t word = mix(0xcbf29ce484222325ull, (uint64_t)i);
    if (write(raw, &word, sizeof word) != sizeof word) {
      perror("write");
      return 1;
    }
    shared[(i * 4099) % MAP_BYTES] = (unsigned char)i;
    memset(shared + (i * 8192) % (MAP_BYTES - 4096), i & 0xff, 64);
    raise(SIGUSR1);
    char c = (char)('a' + i % 26);
    if (write(feed[1], &c, 1) != 1) {
      perror("feed");
      return 1;
    }
    pthread_mutex_lock(&lock);
    work_ready = i;
    pthread_cond_broadcast(&changed);
    while (work_ready != 0) {
      pthread_cond_wait(&changed, &lock);
    }
    pthread_mutex_unlock(&lock);
    tls_value = mix(tls_value, (uint64_t)i);
    nap();
    if (i % 10 == 0) {
      printf("progress step %d\n", i);
      fflush(stdout);
    }
  }
  pthread_mutex_lock(&lock);
  stop_all = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  char q = 'q';
  if (write(feed[1], &q, 1) != 1) {
    return 1;
  }
  pthread_join(t_consumer, NULL);
  pthread_join(t_reader, NULL);
  pthread_join(t_alt, NULL);
  tls_total += tls_value;
  fclose(log);

  /* Read everything back through fresh descriptors. */
  uint64_t raw_sum = 0, word;
  off_t at = lseek(raw, 0, SEEK_CUR);
  for (off_t off = 0; pread(raw, &word, sizeof word, off) == sizeof word; off += sizeof word) {
    raw_sum = mix(raw_sum, word);
  }
  msync(shared, MAP_BYTES, MS_SYNC);
  unsigned char* check = malloc(MAP_BYTES);
  int again = open("shared.bin", O_RDONLY);
  if (check == NULL || again < 0 || read(again, check, MAP_BYTES) != MAP_BYTES) {
    perror("read back");
    return 1;
  }
  uint64_t map_sum = 0;
  for (int i = 0; i < MAP_BYTES; i += 8) {
    map_sum = mix(map_sum, *(uint64_t*)(check + i));
  }
  FILE* back = fopen("log.txt", "r");
  char line[64];
  int lines = 0;
  while (back != NULL && fgets(line, sizeof line, back) != NULL) {
    ++lines;
  }
  printf("files: raw offset %ld, raw sum %016llx, log lines %d\n", (long)at, (unsigned long long)raw_sum, lines);
  printf("shared mapping: file matches memory %s, sum %016llx\n", memcmp(check, shared, MAP_BYTES) == 0 ? "yes" : "NO",
         (unsigned long long)map_sum);
  printf("signals: SIGUSR1 handled %d times, SIGUSR2 stayed blocked %s, altstack kept %s\n", (int)usr1_count,
         mask_ok ? "yes" : "NO", altstack_ok ? "yes" : "NO");
  printf("threads: handoffs %d sum %016llx, reader sum %016llx, tls total %016llx\n", work_done,
         (unsigned long long)handoff_sum, (unsigned long long)reader_sum, (unsigned long long)tls_total);
  return 0;
}
