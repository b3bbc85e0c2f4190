/*
 * collectives.c -- a loop of mixed collectives on MPI_COMM_WORLD, checkpointed anywhere in it.
 *
 * Usage: mpirun -np N collectives [STEPS]   (default 60; 50 ms per step)
 * Every step: Barrier, Bcast, Reduce, Allreduce, Gather, Gatherv, Scatter, Scatterv, Allgather, Allgatherv,
 * Alltoall, Alltoallv, Reduce_scatter, Scan, with the root rotating; results checked where a formula
 * gives them, and everything folded into each rank's hash.
 */
#include "mpi_case.h"

enum { kMax = 64 };

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  uint64_t hash = 0;
  int errors = 0;
  long long *send = malloc(sizeof(long long) * kMax * (size_t)size),
            *recv = malloc(sizeof(long long) * kMax * (size_t)size);
  int *counts = malloc(sizeof(int) * (size_t)size), *displs = malloc(sizeof(int) * (size_t)size);
  int *rcounts = malloc(sizeof(int) * (size_t)size), *rdispls = malloc(sizeof(int) * (size_t)size);
  for (int step = 0; step < steps; ++step) {
    int root = step % size;
    MPI_Barrier(MPI_COMM_WORLD);

    long long b[8];
    for (int i = 0; i < 8; ++i) {
      b[i] = rank == root ? case_value(step, root, i) : 0;
    }
    MPI_Bcast(b, 8, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    for (int i = 0; i < 8; ++i) {
      CASE_CHECK(b[i] == case_value(step, root, i), errors, "bcast step %d", step);
      hash = case_mix(hash, (uint64_t)b[i]);
    }

    long long mine = case_value(step, rank, 1), sum = 0, max = 0, expected_sum = 0, expected_max = -1000000;
    for (int r = 0; r < size; ++r) {
      long long v = case_value(step, r, 1);
      expected_sum += v;
      expected_max = v > expected_max ? v : expected_max;
    }
    MPI_Reduce(&mine, &sum, 1, MPI_LONG_LONG, MPI_SUM, root, MPI_COMM_WORLD);
    if (rank == root) {
      CASE_CHECK(sum == expected_sum, errors, "reduce step %d", step);
    }
    MPI_Allreduce(&mine, &max, 1, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    CASE_CHECK(max == expected_max, errors, "allreduce step %d", step);
    hash = case_mix(hash, (uint64_t)max);

    /* Gather / Gatherv / Allgather / Allgatherv: rank r contributes 1 + (r + step) % 5 values. */
    int n = 1 + (rank + step) % 5, total = 0;
    for (int r = 0; r < size; ++r) {
      counts[r] = 1 + (r + step) % 5;
      displs[r] = total;
      total += counts[r];
    }
    for (int i = 0; i < n; ++i) {
      send[i] = case_value(step, rank, 10 + i);
    }
    MPI_Gather(send, 1, MPI_LONG_LONG, recv, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    if (rank == root) {
      for (int r = 0; r < size; ++r) {
        CASE_CHECK(recv[r] == case_value(step, r, 10), errors, "gather step %d", step);
        hash = case_mix(hash, (uint64_t)recv[r]);
      }
    }
    MPI_Gatherv(send, n, MPI_LONG_LONG, recv, counts, displs, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    if (rank == root) {
      for (int r = 0; r < size; ++r) {
        for (int i = 0; i < counts[r]; ++i) {
          CASE_CHECK(recv[displs[r] + i] == case_value(step, r, 10 + i), errors, "gatherv step %d", step);
        }
      }
    }
    MPI_Allgather(send, 1, MPI_LONG_LONG, recv, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
    for (int r = 0; r < size; ++r) {
      CASE_CHECK(recv[r] == case_value(step, r, 10), errors, "allgather step %d", step);
    }
    MPI_Allgatherv(send, n, MPI_LONG_LONG, recv, counts, displs, MPI_LONG_LONG, MPI_COMM_WORLD);
    for (int i = 0; i < total; ++i) {
      hash = case_mix(hash, (uint64_t)recv[i]);
    }

    /* Scatter / Scatterv from the root. */
    if (rank == root) {
      for (int i = 0; i < total; ++i) {
        send[i] = case_value(step, 99, i);
      }
    }
    long long one = 0;
    MPI_Scatter(send, 1, MPI_LONG_LONG, &one, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    CASE_CHECK(one == case_value(step, 99, rank), errors, "scatter step %d", step);
    MPI_Scatterv(send, counts, displs, MPI_LONG_LONG, recv, n, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    for (int i = 0; i < n; ++i) {
      CASE_CHECK(recv[i] == case_value(step, 99, displs[rank] + i), errors, "scatterv step %d", step);
      hash = case_mix(hash, (uint64_t)recv[i]);
    }

    /* Alltoall / Alltoallv: rank s sends 1 + (s + d) % 3 values to rank d. */
    for (int d = 0; d < size; ++d) {
      send[d] = case_value(step, rank * 100 + d, 7);
    }
    MPI_Alltoall(send, 1, MPI_LONG_LONG, recv, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
    for (int s = 0; s < size; ++s) {
      CASE_CHECK(recv[s] == case_value(step, s * 100 + rank, 7), errors, "alltoall step %d", step);
    }
    int stotal = 0, rtotal = 0;
    for (int p = 0; p < size; ++p) {
      counts[p] = 1 + (rank + p) % 3;
      displs[p] = stotal;
      stotal += counts[p];
      rcounts[p] = 1 + (p + rank) % 3;
      rdispls[p] = rtotal;
      rtotal += rcounts[p];
    }
    for (int p = 0; p < size; ++p) {
      for (int i = 0; i < counts[p]; ++i) {
        send[displs[p] + i] = case_value(step, rank * 100 + p, 20 + i);
      }
    }
    MPI_Alltoallv(send, counts, displs, MPI_LONG_LONG, recv, rcounts, rdispls, MPI_LONG_LONG, MPI_COMM_WORLD);
    for (int p = 0; p < size; ++p) {
      for (int i = 0; i < rcounts[p]; ++i) {
        CASE_CHECK(recv[rdispls[p] + i] == case_value(step, p * 100 + rank, 20 + i), errors, "alltoallv step %d", step);
        hash = case_mix(hash, (uint64_t)recv[rdispls[p] + i]);
      }
    }

    /* Reduce_scatter: element j of everyone's vector summed, block r to rank r (r+1 elements). */
    int vtotal = 0;
    for (int r = 0; r < size; ++r) {
      rcounts[r] = r + 1;
      vtotal += r + 1;
    }
    for (int j = 0; j < vtotal; ++j) {
      send[j] = case_value(step, rank, 300 + j);
    }
    MPI_Reduce_scatter(send, recv, rcounts, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    int first = rank * (rank + 1) / 2;
    for (int i = 0; i <= rank; ++i) {
      long long expected = 0;
      for (int r = 0; r < size; ++r) {
        expected += case_value(step, r, 300 + first + i);
      }
      CASE_CHECK(recv[i] == expected, errors, "reduce_scatter step %d", step);
      hash = case_mix(hash, (uint64_t)recv[i]);
    }

    /* Scan: prefix sums. */
    long long prefix = 0, expected_prefix = 0;
    MPI_Scan(&mine, &prefix, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    for (int r = 0; r <= rank; ++r) {
      expected_prefix += case_value(step, r, 1);
    }
    CASE_CHECK(prefix == expected_prefix, errors, "scan step %d", step);
    hash = case_mix(hash, (uint64_t)prefix);

    case_pace(50);
    case_progress(rank, step, steps);
  }
  case_result("collectives", hash, errors, MPI_COMM_WORLD);
  free(send);
  free(recv);
  free(counts);
  free(displs);
  free(rcounts);
  free(rdispls);
  MPI_Finalize();
  return 0;
}
