/*
 * blocking.c -- blocking point-to-point while checkpoints land: small standard sends (which the layer
 * hands to the MPI library's own blocking send: they complete eagerly), large ones (which wait for
 * their receiver, so a checkpoint finds the sender waiting), blocking receives waiting for a peer that
 * sleeps first, and Sendrecv.
 *
 * Usage: mpirun -np N blocking [STEPS]   (default 60; about 50 ms per step; ranks pair up 0-1, 2-3...,
 * an odd last rank only takes part in the result)
 * Each step: the even rank of a pair sends 16 small messages (1..32 int64, tags 0..15) at once; its partner
 * sleeps 20 ms, then receives them in tag order (they wait in flight meanwhile); the partner then sends
 * one large message (8192 int64) that the even rank receives only after sleeping 20 ms; last both
 * exchange 256 int64 with Sendrecv. Every value is checked and hashed.
 */
#include "mpi_case.h"

enum { kSmall = 16, kLarge = 8192, kSwap = 256 };

static int small_length(int step, int k) { return 1 + (step * 7 + k * 5) % 32; }

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  int partner = rank ^ 1;
  int paired = partner < size;
  int even = rank % 2 == 0;
  uint64_t hash = 0;
  int errors = 0;
  int64_t* large = malloc(sizeof(int64_t) * kLarge);
  int64_t small[32], mine[kSwap], theirs[kSwap];
  for (int step = 0; step < steps && paired; ++step) {
    if (even) {
      for (int k = 0; k < kSmall; ++k) {
        int n = small_length(step, k);
        for (int i = 0; i < n; ++i) {
          small[i] = case_value(step, rank, k * 100 + i);
        }
        MPI_Send(small, n, MPI_INT64_T, partner, k, MPI_COMM_WORLD);
      }
      case_pace(20);
      MPI_Status status;
      MPI_Recv(large, kLarge, MPI_INT64_T, partner, 100, MPI_COMM_WORLD, &status);
      int count = -1;
      MPI_Get_count(&status, MPI_INT64_T, &count);
      CASE_CHECK(count == kLarge && status.MPI_SOURCE == partner, errors, "step %d: large count %d", step, count);
      for (int i = 0; i < kLarge; i += 61) {
        CASE_CHECK(large[i] == case_value(step, partner, 7000 + i), errors, "step %d: large[%d]", step, i);
        hash = case_mix(hash, (uint64_t)large[i]);
      }
    } else {
      case_pace(20);
      for (int k = 0; k < kSmall; ++k) {
        MPI_Status status;
        MPI_Recv(small, 32, MPI_INT64_T, partner, k, MPI_COMM_WORLD, &status);
        int count = -1;
        MPI_Get_count(&status, MPI_INT64_T, &count);
        CASE_CHECK(count == small_length(step, k) && status.MPI_TAG == k, errors, "step %d: small %d count %d", step, k,
                   count);
        for (int i = 0; i < count && i < 32; ++i) {
          CASE_CHECK(small[i] == case_value(step, partner, k * 100 + i), errors, "step %d: small %d [%d]", step, k, i);
          hash = case_mix(hash, (uint64_t)small[i]);
        }
      }
      for (int i = 0; i < kLarge; ++i) {
        large[i] = case_value(step, rank, 7000 + i);
      }
      MPI_Send(large, kLarge, MPI_INT64_T, partner, 100, MPI_COMM_WORLD);
    }
    for (int i = 0; i < kSwap; ++i) {
      mine[i] = case_value(step, rank, 9000 + i);
    }
    MPI_Sendrecv(mine, kSwap, MPI_INT64_T, partner, 200, theirs, kSwap, MPI_INT64_T, partner, 200, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    for (int i = 0; i < kSwap; ++i) {
      CASE_CHECK(theirs[i] == case_value(step, partner, 9000 + i), errors, "step %d: swap[%d]", step, i);
      hash = case_mix(hash, (uint64_t)theirs[i]);
    }
    case_pace(10);
    case_progress(rank, step, steps);
  }
  free(large);
  case_result("blocking", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
