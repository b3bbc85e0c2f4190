/* Scope pgid: a group with a live member and a zombie member (exit 17, reaped after GO). */
#include "case_util.h"

int main(void) {
  if (setpgid(0, 0) != 0) {
    case_die("setpgid");
  }
  char up[512];
  case_marker(up, sizeof up, "member");
  pid_t member = case_fork();
  if (member == 0) {
    case_touch(up);
    case_wait_go();
    _exit(getpgrp() == getppid() ? 21 : 1);
  }
  pid_t zombie = case_fork();
  if (zombie == 0) {
    _exit(17);
  }
  siginfo_t info;
  waitid(P_PID, (id_t)zombie, &info, WEXITED | WNOWAIT);
  case_wait_file(up);
  case_ready();
  case_wait_go();
  case_print_status("zombie", case_wait(zombie));
  case_print_status("member (21: in the group)", case_wait(member));
  return 0;
}
