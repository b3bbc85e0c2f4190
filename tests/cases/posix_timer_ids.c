/* Three POSIX timers of which the middle one was deleted: the two others keep their ids (the
 * program holds them) and a new timer made after the restart works. */
#include <signal.h>
#include <stdint.h>

#include "case.h"

int main(void) {
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_NONE;
  timer_t t[3];
  for (int i = 0; i < 3; ++i)
    if (timer_create(CLOCK_MONOTONIC, &ev, &t[i]) != 0)
      case_fail("timer_create");
  timer_delete(t[1]);
  struct itimerspec a = {{0, 0}, {1000, 0}};
  struct itimerspec b = {{5, 0}, {2000, 0}};
  timer_settime(t[0], 0, &a, NULL);
  timer_settime(t[2], 0, &b, NULL);
  case_ready();
  case_wait_go();
  struct itimerspec n0, n2;
  int r0 = timer_gettime(t[0], &n0);
  int r2 = timer_gettime(t[2], &n2);
  case_print("timer 0: %d armed %d; timer 2: %d armed %d interval %ld s\n", r0,
             n0.it_value.tv_sec > 900 && n0.it_value.tv_sec <= 1000, r2,
             n2.it_value.tv_sec > 1900 && n2.it_value.tv_sec <= 2000, (long)n2.it_interval.tv_sec);
  timer_t extra;
  case_print("a new timer: %d\n", timer_create(CLOCK_MONOTONIC, &ev, &extra));
  case_print("deleted timer gone: %d\n", timer_gettime(t[1], &n0) != 0);
  return 0;
}
