/* An epoll set whose watched pipe already holds data at the checkpoint (level-triggered, oneshot). */
#include <sys/epoll.h>

#include "case.h"

int main(void) {
  int ep = epoll_create1(0);
  int p[2], q[2];
  if (ep < 0 || pipe(p) != 0 || pipe(q) != 0)
    case_fail("setup");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.fd = q[0];
  epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
  write(p[1], "ready", 5);
  case_ready();
  case_wait_go();
  struct epoll_event got[4];
  int n = epoll_wait(ep, got, 4, 1000);
  case_print("ready %d, is the pipe %d\n", n, n == 1 && got[0].data.fd == p[0]);
  write(q[1], "x", 1);
  n = epoll_wait(ep, got, 4, 1000);
  case_print("then %d (%d)\n", n, n >= 1);
  char c;
  read(q[0], &c, 1);
  write(q[1], "y", 1);
  n = epoll_wait(ep, got, 4, 0);
  int q_again = 0;
  for (int i = 0; i < n; ++i)
    q_again |= got[i].data.fd == q[0];
  case_print("oneshot reported again %d\n", q_again);
  return 0;
}
