/* A stream socketpair between parent and child with unread data queued both ways. */
#include <sys/socket.h>

#include "case_util.h"

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    case_die("socketpair");
  }
  char up[512];
  case_marker(up, sizeof up, "child");
  pid_t child = case_fork();
  if (child == 0) {
    close(sv[0]);
    case_write_all(sv[1], "to parent, queued", 17);
    case_touch(up);
    case_wait_go();
    char buf[64] = {0};
    ssize_t n = read(sv[1], buf, 15);
    printf("child got '%.*s'\n", (int)n, buf);
    fflush(stdout);
    case_write_all(sv[1], "|reply", 6);
    return 0;
  }
  close(sv[1]);
  case_write_all(sv[0], "to child,queued", 15);
  case_wait_file(up);
  case_ready();
  case_wait_go();
  int status = case_wait(child);
  char buf[64] = {0};
  size_t n = case_read_all(sv[0], buf, sizeof buf);
  printf("parent got '%.*s'\n", (int)n, buf);
  case_print_status("child", status);
  return 0;
}
