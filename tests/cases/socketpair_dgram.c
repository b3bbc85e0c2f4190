/* A datagram socketpair with three messages queued (one of them empty): boundaries survive. */
#include <sys/socket.h>

#include "case.h"

int main(void) {
  int s[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, s) != 0)
    case_fail("socketpair");
  if (send(s[0], "first", 5, 0) != 5 || send(s[0], "", 0, 0) != 0 || send(s[0], "third!", 6, 0) != 6)
    case_fail("send");
  case_ready();
  case_wait_go();
  for (int i = 0; i < 3; ++i) {
    char buf[32] = {0};
    ssize_t n = recv(s[1], buf, sizeof buf, MSG_DONTWAIT);
    case_print("message %d: %zd bytes '%s'\n", i, n, buf);
  }
  return 0;
}
