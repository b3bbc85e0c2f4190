/* A pseudo-terminal pair opened by the process itself (posix_openpt): the slave in raw mode. */
#define _GNU_SOURCE
#include <termios.h>

#include "case.h"

int main(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0)
    case_fail("posix_openpt");
  int s = open(ptsname(m), O_RDWR | O_NOCTTY);
  if (s < 0)
    case_fail("open slave");
  struct termios t;
  tcgetattr(s, &t);
  cfmakeraw(&t);
  tcsetattr(s, TCSANOW, &t);
  case_ready();
  case_wait_go();
  write(m, "typed\n", 6);
  char buf[16] = {0};
  ssize_t n = read(s, buf, sizeof buf - 1);
  write(s, "shown", 5);
  char out[16] = {0};
  ssize_t k = read(m, out, sizeof out - 1);
  tcgetattr(s, &t);
  case_print("slave read %zd (%.5s), master read %zd (%s), raw %d\n", n, buf, k, out, (t.c_lflag & ICANON) == 0);
  return 0;
}
