/* A pipe whose two ends are open here, holding unread bytes across the checkpoint. */
#include "case.h"

int main(void) {
  int p[2];
  if (pipe(p) != 0)
    case_fail("pipe");
  const char msg[] = "bytes written before the checkpoint";
  if (write(p[1], msg, sizeof msg - 1) != (ssize_t)(sizeof msg - 1))
    case_fail("write");
  case_ready();
  case_wait_go();
  if (write(p[1], " and after", 10) != 10)
    case_fail("write");
  close(p[1]);
  char buf[256];
  ssize_t n, total = 0;
  while ((n = read(p[0], buf + total, sizeof buf - 1 - total)) > 0)
    total += n;
  buf[total] = '\0';
  case_print("read %zd bytes: %s\n", total, buf);
  return 0;
}
