/* A periodic timerfd (every 20 ms) keeps its interval and keeps firing. */
#include <stdint.h>
#include <sys/timerfd.h>

#include "case.h"

int main(void) {
  int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (t < 0)
    case_fail("timerfd_create");
  struct itimerspec a = {{0, 20000000}, {0, 20000000}};
  timerfd_settime(t, 0, &a, NULL);
  case_ready();
  case_wait_go();
  uint64_t total = 0;
  while (total < 10) {
    uint64_t ticks = 0;
    if (read(t, &ticks, sizeof ticks) != sizeof ticks)
      case_fail("read");
    total += ticks;
  }
  struct itimerspec now;
  timerfd_gettime(t, &now);
  case_print("fired at least 10 times; interval %ld ns\n", now.it_interval.tv_nsec);
  return 0;
}
