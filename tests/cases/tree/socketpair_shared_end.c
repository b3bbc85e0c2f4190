/* One socketpair end held by two processes (parent and child), the other end by a grandchild:
 * the shared end must come back as one socket in both. */
#include <sys/socket.h>

#include "case_util.h"

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
    case_die("socketpair");
  }
  char up_c[512], up_g[512];
  case_marker(up_c, sizeof up_c, "child");
  case_marker(up_g, sizeof up_g, "grandchild");
  pid_t child = case_fork();
  if (child == 0) {
    pid_t grandchild = case_fork();
    if (grandchild == 0) {
      close(sv[0]);
      case_touch(up_g);
      case_wait_go();
      char buf[64];
      for (int i = 0; i < 2; ++i) {
        ssize_t n = recv(sv[1], buf, sizeof buf, 0);
        printf("grandchild got '%.*s'\n", (int)n, buf);
      }
      return 0;
    }
    close(sv[1]);
    case_write_all(sv[0], "from child", 10);
    case_touch(up_c);
    case_wait_go();
    case_wait(grandchild);
    return 0;
  }
  close(sv[1]);
  case_wait_file(up_c);
  case_wait_file(up_g);
  case_ready();
  case_wait_go();
  case_write_all(sv[0], "from parent", 11);
  case_wait(child);
  printf("parent: the child and grandchild are done\n");
  return 0;
}
