/* A child that became another user (nobody): the tree is not one user's, so the checkpoint is
 * refused (its message names the process and says it belongs to another user), and the case goes
 * on unharmed. Needs root, as CI runs. */
#include <signal.h>

#include "case_util.h"

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "refuse_other_user: needs root to create a process of another user\n");
    return 1;
  }
  int p[2];
  if (pipe(p) != 0) {
    case_die("pipe");
  }
  pid_t child = case_fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) {
      case_die("setuid");
    }
    close(p[0]);
    close(p[1]); /* the parent's read() returns: this process is nobody's now */
    for (;;) {
      pause();
    }
  }
  close(p[1]);
  char byte;
  if (read(p[0], &byte, 1) != 0) {
    case_die("the child did not become nobody");
  }
  close(p[0]);
  case_ready();
  case_wait_go();
  kill(child, SIGTERM);
  case_print_status("other user's child", case_wait(child));
  return 0;
}
