/* An MPI example for checkpoint/restart: each rank passes a token around a ring with nonblocking
 * sends and receives and folds it into a running checksum with MPI_Allreduce. Rank 0 prints
 * "step N" as it goes and "answer: <checksum>" at the end: the same answer with or without a
 * checkpoint and restart in between.
 *
 *   mpicc -O2 -o mpi_ring mpi_ring.c
 *   mpirun -am ft-enable-cr -np 2 ./mpi_ring 300     # then: ompi-checkpoint --term <mpirun pid>
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long steps = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
  uint64_t checksum = 1469598103934665603ull;
  for (long step = 0; step < steps; ++step) {
    uint64_t out = checksum ^ (uint64_t)(rank * 7919 + step), in = 0;
    MPI_Request requests[2];
    MPI_Irecv(&in, 1, MPI_UINT64_T, (rank + size - 1) % size, (int)(step % 1000), MPI_COMM_WORLD, &requests[0]);
    MPI_Isend(&out, 1, MPI_UINT64_T, (rank + 1) % size, (int)(step % 1000), MPI_COMM_WORLD, &requests[1]);
    MPI_Waitall(2, requests, MPI_STATUSES_IGNORE);
    uint64_t mixed = (in * 1099511628211ull) ^ (in >> 29), total = 0;
    MPI_Allreduce(&mixed, &total, 1, MPI_UINT64_T, MPI_BXOR, MPI_COMM_WORLD);
    checksum = checksum * 6364136223846793005ull + total;
    if (rank == 0 && step % 50 == 0) {
      printf("step %ld\n", step);
      fflush(stdout);
    }
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  if (rank == 0) {
    printf("answer: %016llx\n", (unsigned long long)checksum);
  }
  MPI_Finalize();
  return 0;
}
