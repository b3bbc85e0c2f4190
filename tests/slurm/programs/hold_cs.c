/*
 * hold_cs.c -- a program that holds a libcr critical section (BLCR's cr_enter_cs) until a file appears,
 * so that a checkpoint asked for meanwhile waits: the slurm tests use it for MaxWait expiry.
 *
 * Usage: hold_cs RELEASE_FILE
 * Prints "in critical section", waits (0.1 s polls) until RELEASE_FILE exists, leaves the critical
 * section, prints "released" and exits 0. Exit status 2 on bad usage, 1 if cr_init fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "libcr.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hold_cs RELEASE_FILE\n");
    return 2;
  }
  cr_client_id_t id = cr_init();
  if (id < 0) {
    fprintf(stderr, "hold_cs: cr_init failed (errno %d)\n", errno);
    return 1;
  }
  cr_enter_cs(id);
  printf("in critical section\n");
  fflush(stdout);
  const struct timespec pause = {0, 100L * 1000 * 1000};
  while (access(argv[1], F_OK) != 0) {
    nanosleep(&pause, NULL);
  }
  cr_leave_cs(id);
  printf("released\n");
  return 0;
}
