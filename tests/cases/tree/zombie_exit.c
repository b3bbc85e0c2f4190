/* A zombie: the child exited with 42 before the checkpoint and is reaped only after GO, with
 * WNOHANG (the zombie must already be there after a restart). */
#include "case_util.h"

int main(void) {
  pid_t child = case_fork();
  if (child == 0) {
    _exit(42);
  }
  siginfo_t info;
  if (waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) != 0) {
    case_die("waitid");
  }
  case_ready();
  case_wait_go();
  int status = 0;
  pid_t got = waitpid(child, &status, WNOHANG);
  printf("reaped at once: %s\n", got == child ? "yes" : "no");
  case_print_status("zombie", status);
  return 0;
}
