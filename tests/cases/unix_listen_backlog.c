/* A listening AF_UNIX socket with a connection waiting to be accepted: refused (the waiting
 * connection would be lost), naming the socket. */
#include <sys/socket.h>
#include <sys/un.h>

#include "case.h"

int main(void) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "backlog.sock");
  if (bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 4) != 0)
    case_fail("listen");
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr*)&a, sizeof a) != 0)
    case_fail("connect");
  case_ready();
  case_wait_go();
  int s = accept(l, NULL, NULL);
  write(c, "late", 4);
  char buf[8] = {0};
  read(s, buf, 4);
  case_print("accepted after all: %s\n", buf);
  unlink("backlog.sock");
  return 0;
}
