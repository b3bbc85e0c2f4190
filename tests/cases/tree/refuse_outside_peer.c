/* Scope pgid: a socketpair to a child that moved into a group of its own, outside the scope.
 * The checkpoint is refused (the peer is outside the scope); the case goes on. */
#include <sys/socket.h>

#include "case_util.h"

int main(void) {
  if (setpgid(0, 0) != 0) {
    case_die("setpgid");
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    case_die("socketpair");
  }
  char up[512];
  case_marker(up, sizeof up, "outsider");
  pid_t child = case_fork();
  if (child == 0) {
    setpgid(0, 0);
    close(sv[0]);
    case_touch(up);
    char buf[8];
    ssize_t n = read(sv[1], buf, 4);
    (void)!write(sv[1], n == 4 ? "pong" : "????", 4);
    return 0;
  }
  close(sv[1]);
  case_wait_file(up);
  case_ready();
  case_wait_go();
  case_write_all(sv[0], "ping", 4);
  char buf[8] = {0};
  size_t n = case_read_all(sv[0], buf, 4);
  printf("outsider answered '%.*s'\n", (int)n, buf);
  case_print_status("outsider", case_wait(child));
  return 0;
}
