/* Zombies that died differently: one by SIGTERM, one with exit 3. Both reaped after GO. */
#include <signal.h>

#include "case_util.h"

int main(void) {
  pid_t a = case_fork();
  if (a == 0) {
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    _exit(99);
  }
  pid_t b = case_fork();
  if (b == 0) {
    _exit(3);
  }
  siginfo_t info;
  waitid(P_PID, (id_t)a, &info, WEXITED | WNOWAIT);
  waitid(P_PID, (id_t)b, &info, WEXITED | WNOWAIT);
  case_ready();
  case_wait_go();
  case_print_status("first", case_wait(a));
  case_print_status("second", case_wait(b));
  return 0;
}
