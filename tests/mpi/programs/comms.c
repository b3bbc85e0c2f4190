/*
 * comms.c -- communicators and groups: Comm_dup/split/create/compare/free, Comm_group, Group_incl/excl/
 * union/intersection/difference/translate_ranks/compare/size/rank, made before a checkpoint and used after.
 *
 * Usage: mpirun -np N comms [STEPS]   (default 60; 50 ms per step)
 * Every step: collectives and point-to-point on the duplicated, split and created communicators (ranks and
 * sizes checked), plus a communicator split and freed within the step.
 */
#include "mpi_case.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  uint64_t hash = 0;
  int errors = 0;

  MPI_Comm dup, parity, reversed, evens;
  MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &parity);
  MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &reversed); /* ranks in reverse order */
  MPI_Group world_group, even_group, odd_group, first_two, all_again, none, rest;
  MPI_Comm_group(MPI_COMM_WORLD, &world_group);
  int n_even = (size + 1) / 2, evens_list[64], odds_list[64];
  for (int i = 0; i < n_even; ++i)
    evens_list[i] = 2 * i;
  for (int i = 0; i < size / 2; ++i)
    odds_list[i] = 2 * i + 1;
  MPI_Group_incl(world_group, n_even, evens_list, &even_group);
  MPI_Group_excl(world_group, n_even, evens_list, &odd_group);
  int two[2] = {0, 1};
  MPI_Group_incl(world_group, size >= 2 ? 2 : 1, two, &first_two);
  MPI_Group_union(even_group, odd_group, &all_again);
  MPI_Group_intersection(even_group, odd_group, &none);
  MPI_Group_difference(world_group, first_two, &rest);
  MPI_Comm_create(MPI_COMM_WORLD, even_group, &evens); /* MPI_COMM_NULL on odd ranks */

  int result;
  MPI_Comm_compare(MPI_COMM_WORLD, dup, &result);
  CASE_CHECK(result == MPI_CONGRUENT, errors, "compare world/dup: %d", result);
  MPI_Comm_compare(MPI_COMM_WORLD, reversed, &result);
  CASE_CHECK(result == (size > 1 ? MPI_SIMILAR : MPI_CONGRUENT), errors, "compare world/reversed: %d", result);
  MPI_Group_compare(world_group, all_again, &result);
  CASE_CHECK(result == (size > 2 ? MPI_SIMILAR : MPI_IDENT), errors, "group compare: %d", result);
  int none_size = -1, rest_size = -1;
  MPI_Group_size(none, &none_size);
  MPI_Group_size(rest, &rest_size);
  CASE_CHECK(none_size == 0 && rest_size == size - (size >= 2 ? 2 : 1), errors, "group sizes %d %d", none_size,
             rest_size);
  int translated[64];
  MPI_Group_translate_ranks(odd_group, size / 2, (int[]){0, 1, 2, 3, 4, 5, 6, 7}, world_group, translated);
  for (int i = 0; i < size / 2 && i < 8; ++i) {
    CASE_CHECK(translated[i] == odds_list[i], errors, "translate %d -> %d", i, translated[i]);
  }

  for (int step = 0; step < steps; ++step) {
    int r = -1, s = -1;
    MPI_Comm_rank(dup, &r);
    MPI_Comm_size(dup, &s);
    CASE_CHECK(r == rank && s == size, errors, "dup rank %d size %d", r, s);
    long long v = case_value(step, rank, 1), sum = 0, expected = 0;
    for (int q = 0; q < size; ++q)
      expected += case_value(step, q, 1);
    MPI_Allreduce(&v, &sum, 1, MPI_LONG_LONG, MPI_SUM, dup);
    CASE_CHECK(sum == expected, errors, "dup allreduce step %d", step);
    hash = case_mix(hash, (uint64_t)sum);

    MPI_Comm_rank(parity, &r);
    CASE_CHECK(r == rank / 2, errors, "parity rank %d", r);
    long long psum = 0, pexpected = 0;
    for (int q = rank % 2; q < size; q += 2)
      pexpected += case_value(step, q, 2);
    long long pv = case_value(step, rank, 2);
    MPI_Allreduce(&pv, &psum, 1, MPI_LONG_LONG, MPI_SUM, parity);
    CASE_CHECK(psum == pexpected, errors, "parity allreduce step %d", step);
    hash = case_mix(hash, (uint64_t)psum);

    /* Point-to-point on the reversed communicator: send to the next in its order. */
    MPI_Comm_rank(reversed, &r);
    CASE_CHECK(r == size - 1 - rank, errors, "reversed rank %d", r);
    int to = (r + 1) % size, from = (r + size - 1) % size;
    long long out = case_value(step, r, 3), in = 0;
    MPI_Sendrecv(&out, 1, MPI_LONG_LONG, to, 7, &in, 1, MPI_LONG_LONG, from, 7, reversed, MPI_STATUS_IGNORE);
    CASE_CHECK(in == case_value(step, from, 3), errors, "reversed sendrecv step %d", step);
    hash = case_mix(hash, (uint64_t)in);

    if (rank % 2 == 0) {
      CASE_CHECK(evens != MPI_COMM_NULL, errors, "evens is null on an even rank");
      long long root_value = rank == 0 ? case_value(step, 0, 4) : 0;
      MPI_Bcast(&root_value, 1, MPI_LONG_LONG, 0, evens);
      CASE_CHECK(root_value == case_value(step, 0, 4), errors, "evens bcast step %d", step);
      hash = case_mix(hash, (uint64_t)root_value);
    } else {
      CASE_CHECK(evens == MPI_COMM_NULL, errors, "evens is not null on an odd rank");
    }

    /* Made and freed within the step. */
    MPI_Comm temporary;
    MPI_Comm_split(dup, (rank + step) % 3, -rank, &temporary);
    int ts = 0;
    MPI_Comm_size(temporary, &ts);
    int tsum = 0, one = 1;
    MPI_Allreduce(&one, &tsum, 1, MPI_INT, MPI_SUM, temporary);
    CASE_CHECK(tsum == ts, errors, "temporary comm step %d", step);
    hash = case_mix(hash, (uint64_t)ts);
    MPI_Comm_free(&temporary);

    case_pace(50);
    case_progress(rank, step, steps);
  }
  MPI_Group_free(&world_group);
  MPI_Group_free(&even_group);
  MPI_Group_free(&odd_group);
  MPI_Group_free(&first_two);
  MPI_Group_free(&all_again);
  MPI_Group_free(&none);
  MPI_Group_free(&rest);
  if (evens != MPI_COMM_NULL)
    MPI_Comm_free(&evens);
  MPI_Comm_free(&reversed);
  MPI_Comm_free(&parity);
  MPI_Comm_free(&dup);
  case_result("comms", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
