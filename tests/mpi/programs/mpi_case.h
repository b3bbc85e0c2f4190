/*
 * mpi_case.h -- what every MPI test program of tests/mpi shares (plain C11 + MPI, nothing of crcore).
 *
 * A program runs STEPS steps (its first argument), each paced by PACE_MS milliseconds of sleep so that a
 * checkpoint can land mid-run; rank 0 prints "progress step N" every few steps, and at the end "result ..."
 * lines that depend only on STEPS and the job size: never on timing, pids or where a checkpoint happened.
 * Each rank also checks what it receives and counts errors; the result lines include the total.
 */
#ifndef CRCORE_MPI_CASE_H
#define CRCORE_MPI_CASE_H

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Sleeps ms milliseconds, whatever signals (a checkpoint, a restart) interrupt it. */
static void case_pace(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

/* Folds value into hash (order matters). */
static uint64_t case_mix(uint64_t hash, uint64_t value) {
  hash ^= value + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
  hash *= 0xff51afd7ed558ccdULL;
  return hash ^ (hash >> 33);
}

/* A deterministic value for (a, b, c). */
static int64_t case_value(int64_t a, int64_t b, int64_t c) {
  return (int64_t)(case_mix(case_mix((uint64_t)a, (uint64_t)b), (uint64_t)c) % 1000003u) - 500000;
}

/* The STEPS argument (default def); exits with status 2 on a bad one. */
static int case_steps(int argc, char** argv, int def) {
  if (argc < 2) {
    return def;
  }
  char* end = NULL;
  long steps = strtol(argv[1], &end, 10);
  if (*end != '\0' || steps < 1 || steps > 1000000) {
    fprintf(stderr, "usage: %s [STEPS]\n", argv[0]);
    exit(2);
  }
  return (int)steps;
}

/* Rank 0 prints "progress step N" every 4th step and at the last. */
static void case_progress(int rank, int step, int steps) {
  if (rank == 0 && ((step + 1) % 4 == 0 || step + 1 == steps)) {
    printf("progress step %d\n", step + 1);
    fflush(stdout);
  }
}

/* Rank 0 prints "result NAME hash=H errors=E" from every rank's hash (in rank order) and error count. */
static void case_result(const char* name, uint64_t hash, int errors, MPI_Comm comm) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  uint64_t* all = rank == 0 ? malloc(sizeof(uint64_t) * (size_t)size) : NULL;
  MPI_Gather(&hash, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, comm);
  int total = 0;
  MPI_Reduce(&errors, &total, 1, MPI_INT, MPI_SUM, 0, comm);
  if (rank == 0) {
    uint64_t combined = 0;
    for (int r = 0; r < size; ++r) {
      combined = case_mix(combined, all[r]);
    }
    printf("result %s ranks=%d hash=%016llx errors=%d\n", name, size, (unsigned long long)combined, total);
    fflush(stdout);
    free(all);
  }
}

#define CASE_CHECK(cond, errors, ...) \
  do {                                \
    if (!(cond)) {                    \
      if ((errors)++ < 5) {           \
        fprintf(stderr, __VA_ARGS__); \
        fputc('\n', stderr);          \
      }                               \
    }                                 \
  } while (0)

#endif
