/* Scope sid: the case starts a session; a child leads a second process group in it, and a
 * grandchild joins that group. After a restart: same session, same groups. */
#include "case_util.h"

int main(void) {
  if (setsid() < 0) {
    case_die("setsid");
  }
  char up[512];
  case_marker(up, sizeof up, "grandchild");
  pid_t child = case_fork();
  if (child == 0) {
    setpgid(0, 0);
    pid_t grandchild = case_fork();
    if (grandchild == 0) {
      case_touch(up);
      case_wait_go();
      int ok = getsid(0) == getsid(getppid()) && getpgrp() == getppid();
      _exit(ok ? 0 : 1);
    }
    case_wait_go();
    int ok = getpgrp() == getpid() && getsid(0) == getppid();
    int status = case_wait(grandchild);
    _exit(ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  printf("session leader: %s\n", getsid(0) == getpid() && getpgrp() == getpid() ? "yes" : "no");
  case_print_status("second group (0: session and groups intact)", case_wait(child));
  return 0;
}
