/* Three queued real-time signals with values 1, 2, 3 (sigqueue): all three, in order, with values. */
#include <signal.h>

#include "case.h"

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 3);
  sigprocmask(SIG_BLOCK, &s, NULL);
  for (int i = 1; i <= 3; ++i) {
    union sigval v = {.sival_int = i};
    sigqueue(getpid(), SIGRTMIN + 3, v);
  }
  case_ready();
  case_wait_go();
  struct timespec zero = {0, 0};
  siginfo_t info;
  while (sigtimedwait(&s, &info, &zero) > 0) {
    case_print("got SIGRTMIN+%d value %d code %s\n", info.si_signo - SIGRTMIN, info.si_value.sival_int,
               info.si_code == SI_QUEUE ? "SI_QUEUE" : "?");
  }
  return 0;
}
