/* Scope pgid: the case leads its own process group with two children in it; after a restart the
 * group is the same (the children's group is the parent's pid). */
#include "case_util.h"

int main(void) {
  if (setpgid(0, 0) != 0) {
    case_die("setpgid");
  }
  pid_t kids[2];
  char up[2][512];
  for (int i = 0; i < 2; ++i) {
    char name[16];
    snprintf(name, sizeof name, "kid%d", i);
    case_marker(up[i], sizeof up[i], name);
    kids[i] = case_fork();
    if (kids[i] == 0) {
      case_touch(up[i]);
      case_wait_go();
      _exit(getpgrp() == getppid() ? 0 : 1);
    }
  }
  case_wait_file(up[0]);
  case_wait_file(up[1]);
  case_ready();
  case_wait_go();
  printf("leader: %s\n", getpgrp() == getpid() ? "leads its group" : "lost its group");
  for (int i = 0; i < 2; ++i) {
    case_print_status("member (0: in the leader's group)", case_wait(kids[i]));
  }
  return 0;
}
