/*
 * finalize_race.c -- ranks that reach MPI_Finalize at different times (a checkpoint racing MPI_Finalize).
 *
 * Usage: mpirun -np N finalize_race [STEPS]   (default 40; 50 ms per step)
 * The ranks exchange a ring message every step, print the result, then rank 0 calls MPI_Finalize at once
 * (and stays inside it until every rank has called it) while the other ranks first compute on for STEPS
 * more steps without MPI. Rank 0 prints "finalizing" just before its MPI_Finalize and every other rank
 * "finalized R" after its own, so a test can ask for a checkpoint while rank 0 is finalizing.
 */
#include "mpi_case.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 40);
  uint64_t hash = 0;
  int errors = 0;
  for (int step = 0; step < steps; ++step) {
    int64_t out = case_value(step, rank, 1), in = 0;
    MPI_Sendrecv(&out, 1, MPI_INT64_T, (rank + 1) % size, step, &in, 1, MPI_INT64_T, (rank + size - 1) % size, step,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (in != case_value(step, (rank + size - 1) % size, 1)) {
      ++errors;
    }
    hash = case_mix(hash, (uint64_t)in);
    case_pace(50);
    case_progress(rank, step, steps);
  }
  case_result("finalize_race", hash, errors, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("finalizing\n");
    fflush(stdout);
  } else {
    uint64_t busy = 0;
    for (int step = 0; step < steps; ++step) { /* no MPI: rank 0 waits inside MPI_Finalize meanwhile */
      busy = case_mix(busy, (uint64_t)step);
      case_pace(50);
    }
    (void)busy;
  }
  MPI_Finalize();
  if (rank != 0) {
    printf("finalized %d\n", rank);
    fflush(stdout);
  }
  return errors == 0 ? 0 : 1;
}
