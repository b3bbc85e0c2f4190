/* A named AF_UNIX stream socket bound and listening (no pending connection): after the restart the
 * process connects to it by path, accepts and talks to itself. */
#include <sys/socket.h>
#include <sys/un.h>

#include "case.h"

int main(void) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "listener.sock");
  if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 4) != 0)
    case_fail("listen");
  case_ready();
  case_wait_go();
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr*)&a, sizeof a) != 0)
    case_fail("connect");
  int s = accept(l, NULL, NULL);
  write(c, "hello", 5);
  char buf[8] = {0};
  read(s, buf, 5);
  struct sockaddr_un name;
  socklen_t len = sizeof name;
  getsockname(l, (struct sockaddr*)&name, &len);
  case_print("accepted %d, got %s, listening on %s\n", s >= 0, buf, name.sun_path);
  unlink("listener.sock");
  return 0;
}
