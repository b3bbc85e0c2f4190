/*
 * blcr_client.c -- a minimal program written purely against the BLCR 0.8.x
 * libcr API, used by crcore's end-to-end tests to prove source
 * compatibility and to observe callback behaviour.
 *
 * Usage: blcr_client [SECONDS] [SELF_IMAGE]
 *   Runs for SECONDS (default 5), repeatedly doing work inside a critical
 *   section.  If SELF_IMAGE is given, it also requests one checkpoint of
 *   itself into that file after about a second.  Checkpoints may also come
 *   from outside (cr_checkpoint PID).  At exit it prints one line:
 *     blcr_client: thread_cont=A thread_rstrt=B thread_fail=C
 *                  signal_cont=D signal_rstrt=E signal_fail=F cs=G
 *   A restarted image reports the counts accumulated across the restart.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() under strict -std=c99 */

#include <libcr.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Written from callbacks (one of them may run in a signal handler). */
static volatile sig_atomic_t thread_cont, thread_rstrt, thread_fail;
static volatile sig_atomic_t signal_cont, signal_rstrt, signal_fail;
static volatile sig_atomic_t info_bad;

/* Tally one cr_checkpoint() outcome: 0 continue, >0 restart, <0 failure. */
static void tally(int rc, volatile sig_atomic_t* cont, volatile sig_atomic_t* rstrt, volatile sig_atomic_t* fail) {
  volatile sig_atomic_t* slot = rc == 0 ? cont : rc > 0 ? rstrt : fail;
  *slot = *slot + 1;
}

/* Runs in libcr's callback thread: ordinary libc calls are allowed here. */
static int thread_cb(void* arg) {
  const struct cr_checkpoint_info* info = cr_get_checkpoint_info();
  int rc;

  (void)arg;
  if (info == NULL || info->requester <= 0) {
    info_bad = 1;
  }
  rc = cr_checkpoint(CR_CHECKPOINT_READY); /* everything above: pre-checkpoint */
  tally(rc, &thread_cont, &thread_rstrt, &thread_fail);
  if (rc > 0 && cr_get_restart_info() == NULL) {
    info_bad = 1;
  }
  return 0;
}

/* Runs in the main thread, possibly in signal context: async-signal-safe only. */
static int signal_cb(void* arg) {
  int rc;

  (void)arg;
  rc = cr_checkpoint(CR_CHECKPOINT_READY);
  tally(rc, &signal_cont, &signal_rstrt, &signal_fail);
  return 0;
}

static void request_self(const char* path) {
  cr_checkpoint_args_t args;
  cr_checkpoint_handle_t handle;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc;

  if (fd < 0 || cr_initialize_checkpoint_args_t(&args) != 0) {
    exit(2);
  }
  args.cr_scope = CR_SCOPE_PROC; /* cr_target stays 0: this process */
  args.cr_fd = fd;
  if (cr_request_checkpoint(&args, &handle) != 0) {
    fprintf(stderr, "blcr_client: request: %s\n", cr_strerror(errno));
    exit(2);
  }
  do {
    rc = cr_poll_checkpoint(&handle, NULL);
  } while (rc == CR_POLL_CHKPT_ERR_PRE && errno == EINTR);
  if (rc < 0 && !(rc == CR_POLL_CHKPT_ERR_POST && errno == CR_ERESTARTED)) {
    fprintf(stderr, "blcr_client: poll: %s\n", cr_strerror(errno));
  }
  close(fd);
}

int main(int argc, char** argv) {
  const struct timespec tick = {0, 10 * 1000 * 1000};
  long seconds = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
  long cs_done = 0, a = 0, b = 0, i;
  cr_client_id_t id = cr_init();

  if (id < 0) {
    fprintf(stderr, "blcr_client: cr_init: %s\n", cr_strerror(errno));
    return 1;
  }
  if (cr_register_callback(thread_cb, NULL, CR_THREAD_CONTEXT) < 0 ||
      cr_register_callback(signal_cb, NULL, CR_SIGNAL_CONTEXT) < 0) {
    fprintf(stderr, "blcr_client: register: %s\n", cr_strerror(errno));
    return 1;
  }
  printf("blcr_client: pid=%ld\n", (long)getpid());
  fflush(stdout);
  for (i = 0; i < seconds * 100; ++i) {
    if (argc > 2 && i == 100) {
      request_self(argv[2]);
    }
    cr_enter_cs(id); /* no checkpoint between these two updates */
    ++a;
    ++b;
    if (a != b) {
      abort();
    }
    ++cs_done;
    cr_leave_cs(id); /* a deferred checkpoint may run in here */
    nanosleep(&tick, NULL);
  }
  printf(
      "blcr_client: thread_cont=%d thread_rstrt=%d thread_fail=%d "
      "signal_cont=%d signal_rstrt=%d signal_fail=%d cs=%ld%s\n",
      (int)thread_cont, (int)thread_rstrt, (int)thread_fail, (int)signal_cont, (int)signal_rstrt, (int)signal_fail,
      cs_done, info_bad ? " info=BAD" : "");
  return 0;
}
