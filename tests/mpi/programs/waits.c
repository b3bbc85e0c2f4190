/*
 * waits.c -- completion calls: Waitany, Waitsome, Test, Testany, Testall, Testsome, with Ssend, Rsend,
 * Sendrecv and Sendrecv_replace.
 *
 * Usage: mpirun -np N waits [STEPS]   (default 60; 50 ms per step)
 * Every step each rank posts Irecvs from every other rank, sends to each with Isend, and completes them
 * with a different call each step (by step % 4); then Ssend/Recv around the ring, Rsend to a posted
 * Irecv, Sendrecv and Sendrecv_replace. Everything received is checked.
 */
#include "mpi_case.h"

enum { kLength = 16, kMaxRanks = 64 };

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > kMaxRanks) {
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  int steps = case_steps(argc, argv, 60);
  uint64_t hash = 0;
  int errors = 0;
  static int64_t out[kMaxRanks][kLength], in[kMaxRanks][kLength];
  for (int step = 0; step < steps; ++step) {
    MPI_Request recvs[kMaxRanks], sends[kMaxRanks];
    int n = 0;
    for (int p = 0; p < size; ++p) {
      if (p == rank)
        continue;
      MPI_Irecv(in[p], kLength, MPI_INT64_T, p, 3, MPI_COMM_WORLD, &recvs[n++]);
    }
    case_pace(10); /* the receives wait: a checkpoint may find them pending */
    int m = 0;
    for (int p = 0; p < size; ++p) {
      if (p == rank)
        continue;
      for (int i = 0; i < kLength; ++i)
        out[p][i] = case_value(step, rank * 100 + p, i);
      MPI_Isend(out[p], kLength, MPI_INT64_T, p, 3, MPI_COMM_WORLD, &sends[m++]);
    }
    int done = 0, index = 0, flag = 0, indices[kMaxRanks], outcount = 0;
    MPI_Status status, statuses[kMaxRanks];
    switch (step % 4) {
      case 0:
        for (done = 0; done < n; ++done) {
          MPI_Waitany(n, recvs, &index, &status);
          CASE_CHECK(index != MPI_UNDEFINED && status.MPI_TAG == 3, errors, "waitany step %d", step);
        }
        break;
      case 1:
        while (done < n) {
          MPI_Waitsome(n, recvs, &outcount, indices, statuses);
          CASE_CHECK(outcount != MPI_UNDEFINED && outcount > 0, errors, "waitsome step %d", step);
          done += outcount > 0 ? outcount : n;
        }
        break;
      case 2:
        while (done < n) {
          MPI_Testany(n, recvs, &index, &flag, &status);
          if (flag && index != MPI_UNDEFINED) {
            ++done;
          } else {
            case_pace(1);
          }
        }
        flag = 0;
        MPI_Testall(n, recvs, &flag, statuses); /* all inactive now: true */
        CASE_CHECK(flag, errors, "testall after testany step %d", step);
        break;
      default:
        while (done < n) {
          MPI_Testsome(n, recvs, &outcount, indices, statuses);
          if (outcount > 0) {
            done += outcount;
          } else {
            case_pace(1);
          }
        }
        break;
    }
    for (int i = 0; i < m; ++i) {
      flag = 0;
      while (!flag) {
        MPI_Test(&sends[i], &flag, MPI_STATUS_IGNORE);
        if (!flag)
          case_pace(1);
      }
    }
    for (int p = 0; p < size; ++p) {
      if (p == rank)
        continue;
      for (int i = 0; i < kLength; ++i) {
        CASE_CHECK(in[p][i] == case_value(step, p * 100 + rank, i), errors, "step %d from %d", step, p);
        hash = case_mix(hash, (uint64_t)in[p][i]);
      }
    }

    /* Ssend around the ring (even ranks send first), Rsend to a posted receive, Sendrecv(_replace). */
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int64_t token = case_value(step, rank, 50), got = 0;
    if (size > 1) {
      if (rank % 2 == 0) {
        MPI_Ssend(&token, 1, MPI_INT64_T, right, 4, MPI_COMM_WORLD);
        MPI_Recv(&got, 1, MPI_INT64_T, left, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(&got, 1, MPI_INT64_T, left, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Ssend(&token, 1, MPI_INT64_T, right, 4, MPI_COMM_WORLD);
      }
      CASE_CHECK(got == case_value(step, left, 50), errors, "ssend step %d", step);
      MPI_Request ready;
      MPI_Irecv(&got, 1, MPI_INT64_T, left, 5, MPI_COMM_WORLD, &ready);
      MPI_Barrier(MPI_COMM_WORLD); /* every receive is posted before any Rsend */
      MPI_Rsend(&token, 1, MPI_INT64_T, right, 5, MPI_COMM_WORLD);
      MPI_Wait(&ready, MPI_STATUS_IGNORE);
      CASE_CHECK(got == case_value(step, left, 50), errors, "rsend step %d", step);
    }
    int64_t a = case_value(step, rank, 60), b = 0, c = case_value(step, rank, 70);
    MPI_Sendrecv(&a, 1, MPI_INT64_T, right, 6, &b, 1, MPI_INT64_T, left, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CASE_CHECK(b == case_value(step, left, 60), errors, "sendrecv step %d", step);
    MPI_Sendrecv_replace(&c, 1, MPI_INT64_T, right, 7, left, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CASE_CHECK(c == case_value(step, left, 70), errors, "sendrecv_replace step %d", step);
    hash = case_mix(case_mix(case_mix(hash, (uint64_t)got), (uint64_t)b), (uint64_t)c);

    case_pace(40);
    case_progress(rank, step, steps);
  }
  case_result("waits", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
