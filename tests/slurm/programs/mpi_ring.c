/*
 * mpi_ring.c -- a deterministic MPI program for the slurm tests: every step, each rank passes a value
 * around the ring and all ranks sum a checksum (MPI_Allreduce), then sleep 0.25 s. The output depends only
 * on STEPS and the number of ranks, never on timing: it must be the same under checkpoint/restart.
 *
 * Usage: mpi_ring [STEPS]   (default 40)
 * Output (rank 0): "mpi_ring: N ranks, STEPS steps", "progress step S" every second step, then
 * "answer: <16 hex digits>". Exit status 0; 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t mix(uint64_t h, uint64_t v) {
  uint64_t z = h ^ (v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long steps = argc > 1 ? strtol(argv[1], NULL, 10) : 40;
  if (steps <= 0 || steps > 100000) {
    if (rank == 0) {
      fprintf(stderr, "usage: mpi_ring [STEPS]\n");
    }
    MPI_Finalize();
    return 2;
  }
  if (rank == 0) {
    printf("mpi_ring: %d ranks, %ld steps\n", size, steps);
    fflush(stdout);
  }
  uint64_t state = mix(0x1234, (uint64_t)rank);
  uint64_t answer = 0;
  const struct timespec pause = {0, 250L * 1000 * 1000};
  for (long step = 1; step <= steps; ++step) {
    uint64_t incoming = 0;
    MPI_Sendrecv(&state, 1, MPI_UINT64_T, (rank + 1) % size, 0, &incoming, 1, MPI_UINT64_T, (rank + size - 1) % size, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    state = mix(state, incoming + (uint64_t)step);
    uint64_t sum = 0;
    MPI_Allreduce(&state, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    answer = mix(answer, sum);
    if (rank == 0 && (step % 2 == 0 || step == steps)) {
      printf("progress step %ld\n", step);
      fflush(stdout);
    }
    nanosleep(&pause, NULL);
  }
  if (rank == 0) {
    printf("answer: %016" PRIx64 "\n", answer);
  }
  MPI_Finalize();
  return 0;
}
