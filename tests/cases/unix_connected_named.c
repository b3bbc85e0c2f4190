/* A client connected by path to a listening socket of the same process, and its accepted peer. */
#include <sys/socket.h>
#include <sys/un.h>

#include "case.h"

int main(void) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "conn.sock");
  if (bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 4) != 0)
    case_fail("listen");
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr*)&a, sizeof a) != 0)
    case_fail("connect");
  int s = accept(l, NULL, NULL);
  write(c, "ping", 4);
  case_ready();
  case_wait_go();
  char buf[8] = {0};
  read(s, buf, 4);
  write(s, "pong", 4);
  char back[8] = {0};
  read(c, back, 4);
  case_print("%s %s\n", buf, back);
  unlink("conn.sock");
  return 0;
}
