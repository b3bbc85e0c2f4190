/* A POSIX timer that notifies by starting a thread (SIGEV_THREAD): refused, naming the timer. */
#include <signal.h>

#include "case.h"

static void tick(union sigval v) { (void)v; }

int main(void) {
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = tick;
  timer_t t;
  if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0)
    case_fail("timer_create");
  struct itimerspec a = {{0, 0}, {3600, 0}};
  timer_settime(t, 0, &a, NULL);
  case_ready();
  case_wait_go();
  case_print("timer armed\n");
  return 0;
}
