/*
 * mpi_bench.c -- the MPI programs of bench/run_mpi_bench.py (plain C + MPI, built with mpicc).
 *
 *   mpi_bench pingpong BYTES ITERS   ranks 0 and 1 bounce a message; rank 0 prints
 *                                    "pingpong BYTES latency_us L bandwidth_MBps B best_latency_us BL
 *                                    best_bandwidth_MBps BB" (L: half a round trip, over all iterations)
 *   mpi_bench self BYTES ITERS       every rank sends a message to itself and receives it (MPI_Send, then
 *                                    MPI_Recv: no waiting for another process, so the figure is the cost of
 *                                    the two calls); rank 0 prints "self BYTES us_per_pair T best_us_per_pair BT"
 *   mpi_bench allreduce COUNT ITERS  every rank Allreduces COUNT doubles; rank 0 prints
 *                                    "allreduce COUNT us_per_call T best_us_per_call BT"
 *   mpi_bench hold MIB SECONDS       every rank fills MIB MiB, rank 0 prints "ready", then every 50 ms a
 *                                    step of work and an Allreduce, rank 0 printing "tick N"; after SECONDS
 *                                    of ticks every rank checks its memory; rank 0 prints "verify OK" or
 *                                    "verify FAILED" (what the checkpoint/restart timing runs); each tick
 *                                    line also says how long that tick's Allreduce took ("allreduce_us U")
 *   mpi_bench hello                  every rank prints "hello R start_ns S init_ns I" (wall clock at main's
 *                                    start and after MPI_Init): what starting a job costs
 * Each measurement is preceded by ITERS/10 warm-up iterations. The best_ figures are those of the fastest of
 * 100 equal batches of the iterations (rank 0's clock): on a shared machine, where other processes take
 * the cores now and then, the batches nobody interrupted.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pace(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

/* The fastest batch: iterations [0, iters) in 100 batches (at least one iteration each). */
typedef struct {
  int per_batch;
  double batch_start, best;
} batches_t;

static batches_t batches_for(int iters) {
  batches_t b = {iters >= 100 ? iters / 100 : 1, 0, 1e30};
  return b;
}

/* Before iteration i (0 <= i < iters) and once after the last (i == iters): at every batch boundary, reads
 * the clock and keeps the fastest batch so far (a last, partial batch is not counted). */
static void batch_tick(batches_t* b, int i) {
  if (i % b->per_batch != 0) {
    return;
  }
  double now = MPI_Wtime();
  if (i > 0 && (now - b->batch_start) / b->per_batch < b->best) {
    b->best = (now - b->batch_start) / b->per_batch;
  }
  b->batch_start = now;
}

static void pingpong(int rank, long bytes, int iters) {
  char* buf = calloc((size_t)bytes > 0 ? (size_t)bytes : 1, 1);
  double start = 0;
  batches_t batch = batches_for(iters);
  for (int i = -iters / 10; i < iters; ++i) {
    if (i == 0) {
      MPI_Barrier(MPI_COMM_WORLD);
      start = MPI_Wtime();
    }
    if (i >= 0) {
      batch_tick(&batch, i);
    }
    if (rank == 0) {
      MPI_Send(buf, (int)bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(buf, (int)bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
      MPI_Recv(buf, (int)bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buf, (int)bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
    }
  }
  batch_tick(&batch, iters);
  double end = MPI_Wtime();
  double half = (end - start) / iters / 2, best = batch.best / 2;
  if (rank == 0) {
    printf("pingpong %ld latency_us %.3f bandwidth_MBps %.1f best_latency_us %.3f best_bandwidth_MBps %.1f\n", bytes,
           half * 1e6, (double)bytes / half / 1e6, best * 1e6, (double)bytes / best / 1e6);
  }
  free(buf);
}

static void self_pair(int rank, long bytes, int iters) {
  char* buf = calloc((size_t)bytes > 0 ? (size_t)bytes : 1, 1);
  double start = 0;
  batches_t batch = batches_for(iters);
  for (int i = -iters / 10; i < iters; ++i) {
    if (i == 0) {
      start = MPI_Wtime();
    }
    if (i >= 0) {
      batch_tick(&batch, i);
    }
    MPI_Send(buf, (int)bytes, MPI_CHAR, rank, 0, MPI_COMM_WORLD);
    MPI_Recv(buf, (int)bytes, MPI_CHAR, rank, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  batch_tick(&batch, iters);
  double each = (MPI_Wtime() - start) / iters;
  if (rank == 0) {
    printf("self %ld us_per_pair %.3f best_us_per_pair %.3f\n", bytes, each * 1e6, batch.best * 1e6);
  }
  free(buf);
}

static void allreduce(int rank, long count, int iters) {
  double *in = malloc(sizeof(double) * (size_t)count), *out = malloc(sizeof(double) * (size_t)count);
  for (long i = 0; i < count; ++i) {
    in[i] = rank + i * 0.5;
  }
  double start = 0;
  batches_t batch = batches_for(iters);
  for (int i = -iters / 10; i < iters; ++i) {
    if (i == 0) {
      MPI_Barrier(MPI_COMM_WORLD);
      start = MPI_Wtime();
    }
    if (i >= 0) {
      batch_tick(&batch, i);
    }
    MPI_Allreduce(in, out, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
  batch_tick(&batch, iters);
  double end = MPI_Wtime();
  double each = (end - start) / iters;
  if (rank == 0) {
    printf("allreduce %ld us_per_call %.3f best_us_per_call %.3f\n", count, each * 1e6, batch.best * 1e6);
  }
  free(in);
  free(out);
}

static uint64_t value_at(int rank, size_t i) { return (uint64_t)i * 2654435761u + (uint64_t)rank; }

static int hold(int rank, long mib, double seconds) {
  size_t n = (size_t)mib * 1048576 / sizeof(uint64_t);
  uint64_t* memory = malloc(n * sizeof(uint64_t));
  for (size_t i = 0; i < n; ++i) {
    memory[i] = value_at(rank, i);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    printf("ready\n");
    fflush(stdout);
  }
  int ticks = (int)(seconds * 20);
  for (int t = 0; t < ticks; ++t) {
    pace(50);
    long local = t, total = 0;
    long long before = wall_ns();
    MPI_Allreduce(&local, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    long long took = wall_ns() - before;
    if (rank == 0) {
      printf("tick %d allreduce_us %lld\n", t + 1, took / 1000);
      fflush(stdout);
    }
  }
  long bad = 0, all_bad = 0;
  for (size_t i = 0; i < n; ++i) {
    bad += memory[i] != value_at(rank, i);
  }
  MPI_Reduce(&bad, &all_bad, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    printf(all_bad == 0 ? "verify OK\n" : "verify FAILED: %ld words differ\n", all_bad);
  }
  free(memory);
  return all_bad == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  long long start = wall_ns();
  MPI_Init(&argc, &argv);
  long long initialized = wall_ns();
  int rank, size, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc == 2 && strcmp(argv[1], "hello") == 0) {
    printf("hello %d start_ns %lld init_ns %lld\n", rank, start, initialized);
    MPI_Finalize();
    return 0;
  }
  if (argc != 4) {
    if (rank == 0) {
      fprintf(stderr,
              "usage: mpi_bench pingpong BYTES ITERS | self BYTES ITERS | allreduce COUNT ITERS | hold MIB "
              "SECONDS | hello\n");
    }
    MPI_Finalize();
    return 2;
  }
  if (strcmp(argv[1], "pingpong") == 0 && size >= 2) {
    pingpong(rank, atol(argv[2]), atoi(argv[3]));
  } else if (strcmp(argv[1], "self") == 0) {
    self_pair(rank, atol(argv[2]), atoi(argv[3]));
  } else if (strcmp(argv[1], "allreduce") == 0) {
    allreduce(rank, atol(argv[2]), atoi(argv[3]));
  } else if (strcmp(argv[1], "hold") == 0) {
    status = hold(rank, atol(argv[2]), atof(argv[3]));
  } else {
    if (rank == 0) {
      fprintf(stderr, "mpi_bench: unknown mode %s (or pingpong with fewer than 2 ranks)\n", argv[1]);
    }
    status = 2;
  }
  MPI_Finalize();
  return status;
}
