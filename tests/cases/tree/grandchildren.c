/* Three generations: each waits for its own child by pid and passes its status up. */
#include "case_util.h"

int main(void) {
  char up[512];
  case_marker(up, sizeof up, "grandchild");
  pid_t child = case_fork();
  if (child == 0) {
    pid_t grandchild = case_fork();
    if (grandchild == 0) {
      case_touch(up);
      case_wait_go();
      _exit(5);
    }
    int status = case_wait(grandchild);
    _exit(WIFEXITED(status) ? 10 + WEXITSTATUS(status) : 1);
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  case_print_status("child (10 + grandchild's)", case_wait(child));
  return 0;
}
