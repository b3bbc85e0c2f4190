/* A parent and a forked child: the child is checkpointed with its parent and exits after GO with
 * a status the parent collects by pid. */
#include "case_util.h"

int main(void) {
  char up[512];
  case_marker(up, sizeof up, "child");
  pid_t child = case_fork();
  if (child == 0) {
    case_touch(up);
    case_wait_go();
    _exit(7);
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  case_print_status("child", case_wait(child));
  printf("parent: done\n");
  return 0;
}
