/* A one-shot timerfd armed for 3 s and another for 1 h: they stay armed, and the first fires. */
#include <stdint.h>
#include <sys/timerfd.h>

#include "case.h"

int main(void) {
  int t = timerfd_create(CLOCK_MONOTONIC, 0);
  int h = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
  if (t < 0 || h < 0)
    case_fail("timerfd_create");
  struct itimerspec a = {{0, 0}, {3, 0}};
  struct itimerspec b = {{0, 0}, {3600, 0}};
  timerfd_settime(t, 0, &a, NULL);
  timerfd_settime(h, 0, &b, NULL);
  case_ready();
  case_wait_go();
  struct itimerspec now;
  timerfd_gettime(h, &now);
  case_print("hour timer armed %d (at most an hour left %d)\n", now.it_value.tv_sec > 0, now.it_value.tv_sec <= 3600);
  uint64_t ticks = 0;
  ssize_t n = read(t, &ticks, sizeof ticks); /* blocks until it fires */
  case_print("3 s timer fired: %zd %llu\n", n, (unsigned long long)ticks);
  timerfd_gettime(t, &now);
  case_print("now disarmed %d\n", now.it_value.tv_sec == 0 && now.it_value.tv_nsec == 0);
  return 0;
}
