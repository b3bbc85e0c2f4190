/* A stream socketpair with bytes queued in both directions. */
#include <sys/socket.h>

#include "case.h"

int main(void) {
  int s[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
    case_fail("socketpair");
  if (write(s[0], "to-one", 6) != 6 || write(s[1], "to-zero", 7) != 7)
    case_fail("write");
  case_ready();
  case_wait_go();
  char a[32] = {0}, b[32] = {0};
  if (read(s[1], a, sizeof a - 1) != 6 || read(s[0], b, sizeof b - 1) != 7)
    case_fail("read");
  case_print("end 1 got '%s', end 0 got '%s'\n", a, b);
  return 0;
}
