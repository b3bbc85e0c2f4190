/* A listening AF_UNIX socket with an abstract name: refused, naming the socket. */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "case.h"

int main(void) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "crcore-case-%d", (int)getpid());
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
  if (bind(l, (struct sockaddr*)&a, len) != 0 || listen(l, 4) != 0)
    case_fail("listen");
  case_ready();
  case_wait_go();
  case_print("listening\n");
  return 0;
}
