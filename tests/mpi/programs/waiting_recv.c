/*
 * waiting_recv.c -- small blocking receives that wait a long time for their message, so that checkpoints
 * land while a rank waits inside MPI_Recv (the layer waits for small receives inside the MPI library and
 * cancels them for a checkpoint: plugin/src/upper/direct_receive.h).
 *
 * Usage: mpirun -np N waiting_recv [STEPS]   (default 60; about 90 ms per step; ranks pair up 0-1, 2-3...,
 * an odd last rank only takes part in the result)
 * Each step one rank of a pair (alternately the even and the odd one) sleeps 60 ms, then sends three
 * messages: none of them is there when its partner starts waiting. The partner waits in MPI_Recv for the
 * first (tag 5, or MPI_ANY_TAG every other step; from MPI_ANY_SOURCE every third step), then receives the second (1 to
 * 16 int64, tag 7) and the third (0 bytes, tag 7, received with MPI_ANY_TAG) and answers with one int64, which the
 * sender waits for; then both exchange two int64 with MPI_Sendrecv, the partner 20 ms late. Steps alternate between
 * MPI_COMM_WORLD and a communicator of the pair (MPI_Comm_split). Counts, tags, sources and values are checked and
 * hashed.
 */
#include "mpi_case.h"

enum { kMaxInts = 16 };

static int second_length(int step) { return 1 + (step * 5) % kMaxInts; }

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  int partner = rank ^ 1;
  int paired = partner < size;
  MPI_Comm pair;
  MPI_Comm_split(MPI_COMM_WORLD, paired ? rank / 2 : MPI_UNDEFINED, rank, &pair);
  uint64_t hash = 0;
  int errors = 0;
  int64_t buffer[kMaxInts];
  for (int step = 0; step < steps && paired; ++step) {
    MPI_Comm comm = step % 4 < 2 ? MPI_COMM_WORLD : pair;
    int peer = comm == MPI_COMM_WORLD ? partner : partner % 2;
    int sender = (rank % 2) == (step % 2);
    if (sender) {
      case_pace(60);
      int64_t first = case_value(step, rank, 1);
      MPI_Send(&first, 1, MPI_INT64_T, peer, 5, comm);
      int n = second_length(step);
      for (int i = 0; i < n; ++i) {
        buffer[i] = case_value(step, rank, 100 + i);
      }
      MPI_Send(buffer, n, MPI_INT64_T, peer, 7, comm);
      MPI_Send(NULL, 0, MPI_INT64_T, peer, 7, comm);
      int64_t answer = 0;
      MPI_Recv(&answer, 1, MPI_INT64_T, peer, 9, comm, MPI_STATUS_IGNORE);
      CASE_CHECK(answer == case_value(step, partner, 2), errors, "step %d: answer %lld", step, (long long)answer);
      hash = case_mix(hash, (uint64_t)answer);
    } else {
      MPI_Status status;
      int count = -1;
      /* From the partner with tag 5, or with any tag, or from any source (only the partner sends here). */
      int source = step % 3 == 2 ? MPI_ANY_SOURCE : peer;
      MPI_Recv(buffer, kMaxInts, MPI_INT64_T, source, step % 2 == 0 ? 5 : MPI_ANY_TAG, comm, &status);
      MPI_Get_count(&status, MPI_INT64_T, &count);
      CASE_CHECK(count == 1 && status.MPI_TAG == 5 && status.MPI_SOURCE == peer, errors,
                 "step %d: first: count %d tag %d source %d", step, count, status.MPI_TAG, status.MPI_SOURCE);
      CASE_CHECK(buffer[0] == case_value(step, partner, 1), errors, "step %d: first value", step);
      hash = case_mix(hash, (uint64_t)buffer[0]);
      MPI_Recv(buffer, kMaxInts, MPI_INT64_T, peer, 7, comm, &status);
      MPI_Get_count(&status, MPI_INT64_T, &count);
      CASE_CHECK(count == second_length(step), errors, "step %d: second: count %d", step, count);
      for (int i = 0; i < count && i < kMaxInts; ++i) {
        CASE_CHECK(buffer[i] == case_value(step, partner, 100 + i), errors, "step %d: second[%d]", step, i);
        hash = case_mix(hash, (uint64_t)buffer[i]);
      }
      MPI_Recv(buffer, kMaxInts, MPI_INT64_T, peer, MPI_ANY_TAG, comm, &status);
      MPI_Get_count(&status, MPI_INT64_T, &count);
      CASE_CHECK(count == 0 && status.MPI_TAG == 7, errors, "step %d: third: count %d tag %d", step, count,
                 status.MPI_TAG);
      hash = case_mix(hash, (uint64_t)count + 1);
      int64_t answer = case_value(step, rank, 2);
      MPI_Send(&answer, 1, MPI_INT64_T, peer, 9, comm);
      case_pace(20);
    }
    /* Both exchange two values; the sender arrives 20 ms early and waits inside the receive. */
    int64_t mine[2] = {case_value(step, rank, 3), case_value(step, rank, 4)}, theirs[2] = {0, 0};
    MPI_Status swapped;
    MPI_Sendrecv(mine, 2, MPI_INT64_T, peer, 11, theirs, 2, MPI_INT64_T, peer, 11, comm, &swapped);
    CASE_CHECK(swapped.MPI_SOURCE == peer && swapped.MPI_TAG == 11, errors, "step %d: swap status", step);
    for (int i = 0; i < 2; ++i) {
      CASE_CHECK(theirs[i] == case_value(step, partner, 3 + i), errors, "step %d: swap[%d]", step, i);
      hash = case_mix(hash, (uint64_t)theirs[i]);
    }
    case_pace(5);
    case_progress(rank, step, steps);
  }
  if (pair != MPI_COMM_NULL) {
    MPI_Comm_free(&pair);
  }
  case_result("waiting_recv", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
