/* An orphan: the case is a child subreaper; its child forks a grandchild and exits, so the
 * grandchild is reparented to the case, which then waits for it with wait(). */
#include <sys/prctl.h>

#include "case_util.h"

int main(void) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    case_die("prctl");
  }
  char up[512];
  case_marker(up, sizeof up, "orphan");
  pid_t self = getpid();
  pid_t child = case_fork();
  if (child == 0) {
    pid_t grandchild = case_fork();
    if (grandchild == 0) {
      while (getppid() != self) {
        usleep(1000);
      }
      case_touch(up);
      case_wait_go();
      _exit(getppid() == self ? 9 : 1);
    }
    _exit(0);
  }
  case_print_status("middle child", case_wait(child));
  case_wait_file(up);
  case_ready();
  case_wait_go();
  int status = 0;
  pid_t who = wait(&status);
  printf("reaped the reparented grandchild: %s\n", who > 0 && who != child ? "yes" : "no");
  case_print_status("grandchild (9: it saw the case as its parent)", status);
  return 0;
}
