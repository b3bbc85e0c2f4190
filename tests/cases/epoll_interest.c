/* An epoll set watching a pipe (EPOLLIN), an eventfd (EPOLLIN|EPOLLET) and a socket (EPOLLOUT), with
 * its own data words; nothing is ready at the checkpoint. */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "case.h"

int main(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int p[2], s[2];
  int e = eventfd(0, EFD_NONBLOCK);
  if (ep < 0 || pipe(p) != 0 || e < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
    case_fail("setup");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1111};
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 0x2222;
  epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
  ev.events = EPOLLOUT;
  ev.data.u64 = 0x3333;
  epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &ev);
  struct epoll_event got[8];
  int n = epoll_wait(ep, got, 8, 0); /* the socket is writable */
  case_print("before: %d ready, data %llx\n", n, n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  case_ready();
  case_wait_go();
  write(p[1], "x", 1);
  uint64_t one = 1;
  write(e, &one, sizeof one);
  n = epoll_wait(ep, got, 8, 1000);
  unsigned long long sum = 0;
  for (int i = 0; i < n; ++i)
    sum += got[i].data.u64;
  case_print("after: %d ready, data sum %llx\n", n, sum);
  n = epoll_wait(ep, got, 8, 0); /* edge-triggered eventfd is not reported again */
  sum = 0;
  for (int i = 0; i < n; ++i)
    sum += got[i].data.u64;
  case_print("again: %d ready, data sum %llx\n", n, sum);
  return 0;
}
