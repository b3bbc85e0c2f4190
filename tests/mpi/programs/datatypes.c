/*
 * datatypes.c -- derived datatypes (contiguous, vector, hvector, indexed, struct, resized) and user ops,
 * some made before a checkpoint and used after it, some made and freed every step.
 *
 * Usage: mpirun -np N datatypes [STEPS]   (default 60; 50 ms per step)
 * Every step each rank sends to its right neighbour with each datatype and checks the layout received;
 * then Allreduce with a commutative user op on a struct type and Reduce with a non-commutative one
 * (2x2 matrix products modulo a prime, so that the order of the ranks shows).
 */
#include <stddef.h>
#include <string.h>

#include "mpi_case.h"

typedef struct {
  int64_t best;
  int32_t where;
  double weight;
} Pick;

enum { kPrime = 1000003 };

/* Commutative: the larger best wins, ties go to the smaller where; weights add up. */
static void pick_op(void* in, void* inout, int* len, MPI_Datatype* type) {
  (void)type;
  Pick *a = in, *b = inout;
  for (int i = 0; i < *len; ++i) {
    double w = a[i].weight + b[i].weight;
    if (a[i].best > b[i].best || (a[i].best == b[i].best && a[i].where < b[i].where)) {
      b[i] = a[i];
    }
    b[i].weight = w;
  }
}

/* Non-commutative: inout = in x inout for 2x2 matrices modulo kPrime. */
static void matmul_op(void* in, void* inout, int* len, MPI_Datatype* type) {
  (void)type;
  int64_t *a = in, *b = inout;
  for (int m = 0; m < *len; ++m, a += 4, b += 4) {
    int64_t c[4] = {(a[0] * b[0] + a[1] * b[2]) % kPrime, (a[0] * b[1] + a[1] * b[3]) % kPrime,
                    (a[2] * b[0] + a[3] * b[2]) % kPrime, (a[2] * b[1] + a[3] * b[3]) % kPrime};
    memcpy(b, c, sizeof c);
  }
}

static void matrix_of(int step, int rank, int64_t out[4]) {
  for (int i = 0; i < 4; ++i) {
    out[i] = (case_value(step, rank, 500 + i) % kPrime + kPrime) % kPrime;
  }
}

/* Exchanges buf (laid out by type, count 1) with the neighbours; returns errors. Positions not covered by
 * the type must stay as they were (-1). */
static int exchange(MPI_Datatype type, const int* covered, int n, int step, int salt, uint64_t* hash) {
  int rank, size, errors = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int64_t out[256], in[256];
  for (int i = 0; i < n; ++i) {
    out[i] = case_value(step, rank * 64 + salt, i);
    in[i] = -1;
  }
  int right = (rank + 1) % size, left = (rank + size - 1) % size;
  MPI_Sendrecv(out, 1, type, right, salt, in, 1, type, left, salt, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  for (int i = 0; i < n; ++i) {
    int64_t expected = covered[i] ? case_value(step, left * 64 + salt, i) : -1;
    CASE_CHECK(in[i] == expected, errors, "rank %d step %d type %d element %d", rank, step, salt, i);
    *hash = case_mix(*hash, (uint64_t)in[i]);
  }
  return errors;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int steps = case_steps(argc, argv, 60);
  uint64_t hash = 0;
  int errors = 0;

  /* Made once, before any checkpoint: they must survive restarts. */
  MPI_Datatype contiguous, vector, hvector, indexed, resized_base, resized;
  MPI_Type_contiguous(12, MPI_INT64_T, &contiguous);
  MPI_Type_vector(5, 2, 4, MPI_INT64_T, &vector); /* 5 blocks of 2, stride 4 */
  MPI_Type_create_hvector(3, 3, 10 * sizeof(int64_t), MPI_INT64_T, &hvector);
  int lengths[3] = {2, 1, 4}, displacements[3] = {0, 5, 9};
  MPI_Type_indexed(3, lengths, displacements, MPI_INT64_T, &indexed);
  MPI_Type_vector(1, 2, 2, MPI_INT64_T, &resized_base);
  MPI_Type_create_resized(resized_base, 0, 3 * sizeof(int64_t), &resized); /* 2 of every 3 */
  MPI_Type_free(&resized_base);
  MPI_Datatype committed[] = {contiguous, vector, hvector, indexed, resized};
  for (int i = 0; i < 5; ++i) {
    MPI_Type_commit(&committed[i]);
  }
  contiguous = committed[0], vector = committed[1], hvector = committed[2], indexed = committed[3];
  resized = committed[4];

  MPI_Datatype pick_type;
  int pick_lengths[3] = {1, 1, 1};
  MPI_Aint pick_displs[3] = {offsetof(Pick, best), offsetof(Pick, where), offsetof(Pick, weight)};
  MPI_Datatype pick_types[3] = {MPI_INT64_T, MPI_INT32_T, MPI_DOUBLE};
  MPI_Type_create_struct(3, pick_lengths, pick_displs, pick_types, &pick_type);
  MPI_Type_commit(&pick_type);
  MPI_Op pick, matmul;
  MPI_Op_create(pick_op, 1, &pick);
  MPI_Op_create(matmul_op, 0, &matmul);
  MPI_Datatype matrix;
  MPI_Type_contiguous(4, MPI_INT64_T, &matrix);
  MPI_Type_commit(&matrix);

  int covered[256];
  for (int step = 0; step < steps; ++step) {
    for (int i = 0; i < 40; ++i)
      covered[i] = i < 12;
    errors += exchange(contiguous, covered, 40, step, 1, &hash);
    for (int i = 0; i < 40; ++i)
      covered[i] = i < 20 && i % 4 < 2;
    errors += exchange(vector, covered, 40, step, 2, &hash);
    for (int i = 0; i < 40; ++i)
      covered[i] = i < 30 && i % 10 < 3;
    errors += exchange(hvector, covered, 40, step, 3, &hash);
    for (int i = 0; i < 40; ++i)
      covered[i] = i < 2 || i == 5 || (i >= 9 && i < 13);
    errors += exchange(indexed, covered, 40, step, 4, &hash);

    /* resized, count 4: elements 0,1, 3,4, 6,7, 9,10. */
    {
      int64_t out[12], in[12];
      for (int i = 0; i < 12; ++i) {
        out[i] = case_value(step, rank, 700 + i);
        in[i] = -1;
      }
      int right = (rank + 1) % size, left = (rank + size - 1) % size;
      MPI_Sendrecv(out, 4, resized, right, 5, in, 4, resized, left, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      for (int i = 0; i < 12; ++i) {
        int64_t expected = i % 3 < 2 ? case_value(step, left, 700 + i) : -1;
        CASE_CHECK(in[i] == expected, errors, "resized step %d element %d", step, i);
        hash = case_mix(hash, (uint64_t)in[i]);
      }
    }

    /* A type made and freed within the step. */
    {
      MPI_Datatype temporary;
      MPI_Type_vector(2 + step % 3, 1, 3, MPI_INT64_T, &temporary);
      MPI_Type_commit(&temporary);
      for (int i = 0; i < 40; ++i)
        covered[i] = i % 3 == 0 && i / 3 < 2 + step % 3;
      errors += exchange(temporary, covered, 40, step, 6, &hash);
      MPI_Type_free(&temporary);
    }

    /* User ops: a struct Allreduce (commutative) and a matrix-product Reduce (not commutative). */
    Pick mine[2], best[2];
    for (int i = 0; i < 2; ++i) {
      mine[i].best = case_value(step, rank, 600 + i) % 1000;
      mine[i].where = rank;
      mine[i].weight = 0.5 * (rank + 1);
    }
    MPI_Allreduce(mine, best, 2, pick_type, pick, MPI_COMM_WORLD);
    for (int i = 0; i < 2; ++i) {
      int64_t expected = -1000000;
      int where = -1;
      for (int r = 0; r < size; ++r) {
        int64_t v = case_value(step, r, 600 + i) % 1000;
        if (v > expected) {
          expected = v, where = r;
        }
      }
      CASE_CHECK(best[i].best == expected && best[i].where == where, errors, "pick op step %d", step);
      CASE_CHECK(best[i].weight == 0.25 * size * (size + 1), errors, "pick weight step %d", step);
      hash = case_mix(case_mix(hash, (uint64_t)best[i].best), (uint64_t)best[i].where);
    }
    int64_t m[4], product[4];
    matrix_of(step, rank, m);
    MPI_Reduce(m, product, 1, matrix, matmul, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      int64_t expected[4];
      matrix_of(step, 0, expected);
      for (int r = 1; r < size; ++r) {
        int64_t next[4], b[4];
        matrix_of(step, r, next);
        memcpy(b, next, sizeof b);
        int len = 1;
        memcpy(next, expected, sizeof next);
        matmul_op(next, b, &len, NULL); /* b = expected x next */
        memcpy(expected, b, sizeof b);
      }
      for (int i = 0; i < 4; ++i) {
        CASE_CHECK(product[i] == expected[i], errors, "matmul op step %d", step);
        hash = case_mix(hash, (uint64_t)product[i]);
      }
    }
    case_pace(50);
    case_progress(rank, step, steps);
  }
  MPI_Op_free(&pick);
  MPI_Op_free(&matmul);
  MPI_Type_free(&pick_type);
  MPI_Type_free(&matrix);
  for (int i = 0; i < 5; ++i) {
    MPI_Type_free(&committed[i]);
  }
  case_result("datatypes", hash, errors, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
