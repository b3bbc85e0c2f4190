/*
 * ring_nb.c -- a ring of nonblocking sends with messages in flight across a checkpoint.
 *
 * Usage: mpirun -np N ring_nb [STEPS]   (default 60; 50 ms per step)
 * Every step each rank Isends 4 messages of different sizes (1 to 3000 int64) to its right neighbour,
 * sleeps (the messages sit unreceived: a checkpoint here finds them in flight), then posts the matching
 * Irecvs from its left neighbour, sleeps again and Waitalls. Every received value is checked.
 */
#include "mpi_case.h"

enum { kMessages = 4, kMaxCount = 3000 };

static int count_of(int step, int k) { return 1 + (step * 37 + k * 997) % kMaxCount; }

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  int right = (rank + 1) % size, left = (rank + size - 1) % size;
  static int64_t out[kMessages][kMaxCount], in[kMessages][kMaxCount];
  uint64_t hash = 0;
  int errors = 0;
  for (int step = 0; step < steps; ++step) {
    MPI_Request requests[2 * kMessages];
    for (int k = 0; k < kMessages; ++k) {
      int n = count_of(step, k);
      for (int i = 0; i < n; ++i) {
        out[k][i] = case_value(step, rank * 16 + k, i);
      }
      MPI_Isend(out[k], n, MPI_INT64_T, right, 100 + k, MPI_COMM_WORLD, &requests[k]);
    }
    case_pace(25);
    for (int k = 0; k < kMessages; ++k) {
      MPI_Irecv(in[k], kMaxCount, MPI_INT64_T, left, 100 + k, MPI_COMM_WORLD, &requests[kMessages + k]);
    }
    case_pace(25);
    MPI_Status statuses[2 * kMessages];
    MPI_Waitall(2 * kMessages, requests, statuses);
    for (int k = 0; k < kMessages; ++k) {
      int n = count_of(step, k), got = -1;
      MPI_Get_count(&statuses[kMessages + k], MPI_INT64_T, &got);
      CASE_CHECK(got == n, errors, "rank %d step %d message %d: %d values, expected %d", rank, step, k, got, n);
      for (int i = 0; i < n && i < got; ++i) {
        int64_t expected = case_value(step, left * 16 + k, i);
        CASE_CHECK(in[k][i] == expected, errors, "rank %d step %d message %d value %d wrong", rank, step, k, i);
        hash = case_mix(hash, (uint64_t)in[k][i]);
      }
    }
    case_progress(rank, step, steps);
  }
  case_result("ring_nb", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
