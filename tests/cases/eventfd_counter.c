/* An eventfd holding a count (5) and a semaphore-mode eventfd (count 3), non-blocking. */
#include <stdint.h>
#include <sys/eventfd.h>

#include "case.h"

int main(void) {
  int e = eventfd(2, EFD_NONBLOCK | EFD_CLOEXEC);
  int s = eventfd(3, EFD_SEMAPHORE);
  if (e < 0 || s < 0)
    case_fail("eventfd");
  uint64_t v = 3;
  if (write(e, &v, sizeof v) != sizeof v)
    case_fail("write");
  case_ready();
  case_wait_go();
  v = 0;
  ssize_t n = read(e, &v, sizeof v);
  case_print("counter read %zd: %llu\n", n, (unsigned long long)v);
  n = read(e, &v, sizeof v);
  case_print("again: %zd (%s)\n", n, n < 0 && errno == EAGAIN ? "EAGAIN" : "?");
  for (int i = 0; i < 3; ++i) {
    v = 0;
    read(s, &v, sizeof v);
    case_print("semaphore read %llu\n", (unsigned long long)v);
  }
  case_print("flags: nonblock %d cloexec %d\n", (fcntl(e, F_GETFL) & O_NONBLOCK) != 0,
             (fcntl(e, F_GETFD) & FD_CLOEXEC) != 0);
  return 0;
}
