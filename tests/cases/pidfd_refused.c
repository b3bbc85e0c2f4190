/* A pidfd (pidfd_open): not restored, so the checkpoint is refused naming it. */
#include <sys/syscall.h>

#include "case.h"

int main(void) {
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0)
    case_fail("pidfd_open");
  case_ready();
  case_wait_go();
  case_print("pidfd open %d\n", fcntl(fd, F_GETFD) >= 0);
  return 0;
}
