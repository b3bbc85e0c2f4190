/*
 * plain_rank.c -- a light ordinary program (no MPI) for the launcher-side tests: started by Open MPI's
 * mpirun with CRCORE_MPI=1 under cr_run, it stands for a rank, so that ompi-checkpoint and ompi-restart are
 * tested on their own, without the MPI layer.
 *
 * Usage: plain_rank [STEPS]   (default 40; 50 ms per step)
 * A worker thread updates 4 MiB of heap state one slice per step (handed over through a condition
 * variable); main paces the steps and prints "progress step N" every second step, then "answer: HEX": a
 * checksum of the state, which depends only on STEPS. Plain C11 + POSIX; every wait retries on EINTR.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kWords = 4 * 1024 * 1024 / 8, kSlice = kWords / 16 };

static uint64_t* g_state;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_posted = 0, g_done = 0, g_quit = 0;

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

static void* worker(void* arg) {
  (void)arg;
  for (int step = 0;; ++step) {
    pthread_mutex_lock(&g_lock);
    while (g_posted <= step && !g_quit) {
      pthread_cond_wait(&g_cond, &g_lock);
    }
    int quit = g_quit && g_posted <= step;
    pthread_mutex_unlock(&g_lock);
    if (quit) {
      return NULL;
    }
    size_t first = (size_t)(step % 16) * kSlice;
    for (size_t i = first; i < first + kSlice; ++i) {
      g_state[i] = mix(g_state[i], (uint64_t)step);
    }
    pthread_mutex_lock(&g_lock);
    g_done = step + 1;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
  }
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 40;
  if (steps < 1) {
    fprintf(stderr, "usage: plain_rank [STEPS]\n");
    return 2;
  }
  g_state = malloc(sizeof(uint64_t) * kWords);
  for (size_t i = 0; i < kWords; ++i) {
    g_state[i] = i;
  }
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  for (int step = 0; step < steps; ++step) {
    pthread_mutex_lock(&g_lock);
    g_posted = step + 1;
    pthread_cond_broadcast(&g_cond);
    while (g_done < step + 1) {
      pthread_cond_wait(&g_cond, &g_lock);
    }
    pthread_mutex_unlock(&g_lock);
    struct timespec left = {0, 50 * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    if ((step + 1) % 2 == 0 || step + 1 == steps) {
      printf("progress step %d\n", step + 1);
      fflush(stdout);
    }
  }
  pthread_mutex_lock(&g_lock);
  g_quit = 1;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
  pthread_join(thread, NULL);
  uint64_t h = 0;
  for (size_t i = 0; i < kWords; ++i) {
    h = mix(h, g_state[i]);
  }
  printf("answer: %016" PRIx64 "\n", h);
  free(g_state);
  return 0;
}
