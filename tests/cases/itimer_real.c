/* setitimer(ITIMER_REAL) every 30 ms and ITIMER_VIRTUAL with an hour: both come back. */
#include <signal.h>
#include <sys/time.h>

#include "case.h"

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

int main(void) {
  signal(SIGALRM, on_alarm);
  struct itimerval r = {{0, 30000}, {0, 30000}};
  struct itimerval v = {{0, 0}, {3600, 0}};
  setitimer(ITIMER_REAL, &r, NULL);
  setitimer(ITIMER_VIRTUAL, &v, NULL);
  case_ready();
  case_wait_go();
  alarms = 0;
  while (alarms < 4)
    case_sleep_ms(5);
  getitimer(ITIMER_REAL, &r);
  getitimer(ITIMER_VIRTUAL, &v);
  case_print("4 alarms; real interval %ld us; virtual armed %d\n", (long)r.it_interval.tv_usec,
             v.it_value.tv_sec > 3000);
  return 0;
}
