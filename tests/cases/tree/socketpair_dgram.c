/* A datagram socketpair between parent and child: five messages of different sizes queued at
 * the checkpoint keep their boundaries. */
#include <sys/socket.h>

#include "case_util.h"

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) {
    case_die("socketpair");
  }
  char up[512];
  case_marker(up, sizeof up, "child");
  pid_t child = case_fork();
  if (child == 0) {
    close(sv[0]);
    case_touch(up);
    case_wait_go();
    char buf[4096];
    for (int i = 0; i < 5; ++i) {
      ssize_t n = recv(sv[1], buf, sizeof buf, 0);
      printf("message %d: %zd bytes, first '%c'\n", i, n, n > 0 ? buf[0] : '-');
    }
    return 0;
  }
  close(sv[1]);
  char msg[1000];
  for (int i = 0; i < 5; ++i) {
    memset(msg, 'A' + i, sizeof msg);
    if (send(sv[0], msg, (size_t)(1 + i * 200), 0) < 0) {
      case_die("send");
    }
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  case_print_status("child", case_wait(child));
  return 0;
}
