/* Signals pending for the process (blocked everywhere): SIGUSR1 and SIGHUP, delivered once unblocked. */
#include <signal.h>

#include "case.h"

static char order[16];
static volatile int seen;
static void handler(int sig) { order[seen++] = sig == SIGUSR1 ? 'U' : sig == SIGHUP ? 'H' : '?'; }

int main(void) {
  signal(SIGUSR1, handler);
  signal(SIGHUP, handler);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGHUP);
  sigprocmask(SIG_BLOCK, &s, NULL);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGHUP);
  case_ready();
  case_wait_go();
  sigset_t p;
  sigpending(&p);
  case_print("pending USR1 %d HUP %d USR2 %d\n", sigismember(&p, SIGUSR1), sigismember(&p, SIGHUP),
             sigismember(&p, SIGUSR2));
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  case_print("handled %d: %s\n", seen, order);
  return 0;
}
