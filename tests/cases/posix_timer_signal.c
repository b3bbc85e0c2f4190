/* A periodic POSIX timer (SIGEV_SIGNAL, 20 ms) with a value, and a second one armed for an hour:
 * ids, signal, value and interval come back, and the first keeps firing. */
#include <signal.h>

#include "case.h"

static volatile sig_atomic_t fired, last_value;
static void on_alarm(int sig, siginfo_t* info, void* ctx) {
  (void)sig;
  (void)ctx;
  fired++;
  last_value = info->si_value.sival_int;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_alarm;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 2, &sa, NULL);
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN + 2;
  ev.sigev_value.sival_int = 77;
  timer_t fast, slow;
  if (timer_create(CLOCK_MONOTONIC, &ev, &fast) != 0)
    case_fail("timer_create");
  ev.sigev_signo = SIGUSR2;
  if (timer_create(CLOCK_REALTIME, &ev, &slow) != 0)
    case_fail("timer_create");
  struct itimerspec a = {{0, 20000000}, {0, 20000000}};
  struct itimerspec h = {{0, 0}, {3600, 0}};
  timer_settime(fast, 0, &a, NULL);
  timer_settime(slow, 0, &h, NULL);
  case_ready();
  case_wait_go();
  fired = 0;
  while (fired < 5)
    case_sleep_ms(5);
  struct itimerspec now;
  timer_gettime(fast, &now);
  struct itimerspec later;
  timer_gettime(slow, &later);
  case_print("fast timer fired 5 times, value %d, interval %ld ns; slow timer armed %d\n", (int)last_value,
             now.it_interval.tv_nsec, later.it_value.tv_sec > 0 && later.it_value.tv_sec <= 3600);
  case_print("ids %ld %ld\n", (long)(intptr_t)fast, (long)(intptr_t)slow);
  return 0;
}
