/* A TCP listening socket: not restored, so the checkpoint is refused naming it. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "case.h"

int main(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 1) != 0)
    case_fail("listen");
  case_ready();
  case_wait_go();
  case_print("still listening\n");
  return 0;
}
