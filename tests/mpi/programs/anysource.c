/*
 * anysource.c -- MPI_ANY_SOURCE / MPI_ANY_TAG receives with Probe, Iprobe and Get_count.
 *
 * Usage: mpirun -np N anysource [STEPS]   (default 60; 50 ms per step)
 * Every step every rank other than 0 sends 3 messages of varying length and tag to rank 0, which takes
 * them in whatever order they come: Probe (ANY_SOURCE, ANY_TAG), Get_count to size the buffer, Recv from
 * the status' source and tag; then Iprobe polling for the rest. Rank 0 answers each rank with the count it
 * got, which that rank receives with ANY_TAG after Iprobe-polling for it. Order-independent hashes.
 */
#include "mpi_case.h"

enum { kPerRank = 3 };

static int length_of(int step, int source, int k) { return 1 + (step * 13 + source * 7 + k * 29) % 200; }

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  uint64_t hash = 0;
  int errors = 0;
  uint64_t* per_source = calloc((size_t)size, sizeof(uint64_t));
  for (int step = 0; step < steps; ++step) {
    if (rank != 0) {
      int64_t buf[200];
      for (int k = 0; k < kPerRank; ++k) {
        int n = length_of(step, rank, k);
        for (int i = 0; i < n; ++i) {
          buf[i] = case_value(step, rank, k * 1000 + i);
        }
        MPI_Send(buf, n, MPI_INT64_T, 0, 10 + k, MPI_COMM_WORLD);
        case_pace(5);
      }
      int flag = 0;
      MPI_Status status;
      while (!flag) {
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
        if (!flag) {
          case_pace(1);
        }
      }
      int answer = -1;
      MPI_Recv(&answer, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
      CASE_CHECK(status.MPI_TAG == 1000 + step && answer == kPerRank, errors, "rank %d step %d answer %d tag %d", rank,
                 step, answer, status.MPI_TAG);
      hash = case_mix(hash, (uint64_t)answer);
    } else {
      int* got = calloc((size_t)size, sizeof(int));
      int expected = (size - 1) * kPerRank;
      for (int m = 0; m < expected; ++m) {
        MPI_Status status;
        if (m % 2 == 0) {
          MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
        } else {
          int flag = 0;
          while (!flag) {
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            if (!flag) {
              case_pace(1);
            }
          }
        }
        int count = -1;
        MPI_Get_count(&status, MPI_INT64_T, &count);
        int source = status.MPI_SOURCE, k = status.MPI_TAG - 10;
        int64_t* buf = malloc(sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
        MPI_Status received;
        MPI_Recv(buf, count, MPI_INT64_T, source, status.MPI_TAG, MPI_COMM_WORLD, &received);
        int rcount = -1;
        MPI_Get_count(&received, MPI_INT64_T, &rcount);
        CASE_CHECK(source > 0 && source < size && k >= 0 && k < kPerRank && count == length_of(step, source, k) &&
                       rcount == count && received.MPI_SOURCE == source,
                   errors, "step %d: message from %d tag %d count %d", step, source, status.MPI_TAG, count);
        if (source > 0 && source < size) {
          got[source] += 1;
          uint64_t h = (uint64_t)k;
          for (int i = 0; i < count; ++i) {
            CASE_CHECK(buf[i] == case_value(step, source, k * 1000 + i), errors, "step %d value from %d", step, source);
            h = case_mix(h, (uint64_t)buf[i]);
          }
          per_source[source] += h; /* a sum: independent of arrival order */
        }
        free(buf);
      }
      for (int r = 1; r < size; ++r) {
        MPI_Send(&got[r], 1, MPI_INT, r, 1000 + step, MPI_COMM_WORLD);
      }
      free(got);
    }
    case_pace(30);
    case_progress(rank, step, steps);
  }
  for (int r = 0; r < size; ++r) {
    hash = case_mix(hash, per_source[r]);
  }
  free(per_source);
  case_result("anysource", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
