/* An io_uring instance: not restored, so the checkpoint is refused naming it. */
#include <linux/io_uring.h>
#include <sys/syscall.h>

#include "case.h"

int main(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
  if (fd < 0)
    case_fail("io_uring_setup");
  case_ready();
  case_wait_go();
  case_print("ring open %d\n", fcntl(fd, F_GETFD) >= 0);
  return 0;
}
