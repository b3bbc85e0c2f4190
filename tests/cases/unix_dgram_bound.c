/* A named AF_UNIX datagram socket bound to a path, with a datagram queued: re-bound at restart. */
#include <sys/socket.h>
#include <sys/un.h>

#include "case.h"

int main(void) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "dgram.sock");
  if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0)
    case_fail("bind");
  int c = socket(AF_UNIX, SOCK_DGRAM, 0);
  sendto(c, "early", 5, 0, (struct sockaddr*)&a, sizeof a);
  close(c);
  case_ready();
  case_wait_go();
  c = socket(AF_UNIX, SOCK_DGRAM, 0);
  sendto(c, "late", 4, 0, (struct sockaddr*)&a, sizeof a);
  char buf[16];
  for (int i = 0; i < 2; ++i) {
    memset(buf, 0, sizeof buf);
    ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
    case_print("datagram %d: %zd %s\n", i, n, buf);
  }
  unlink("dgram.sock");
  return 0;
}
