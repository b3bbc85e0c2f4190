/* A socketpair with a descriptor in flight (SCM_RIGHTS): refused, naming the socket. */
#include <sys/socket.h>

#include "case.h"

int main(void) {
  int s[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, s);
  int passed = open("/dev/null", O_RDONLY);
  char data = 'x';
  struct iovec iov = {&data, 1};
  char control[CMSG_SPACE(sizeof(int))] = {0};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &passed, sizeof passed);
  if (sendmsg(s[0], &msg, 0) != 1)
    case_fail("sendmsg");
  case_ready();
  case_wait_go();
  char got;
  case_print("received %zd\n", read(s[1], &got, 1));
  return 0;
}
