/* An open-file-description lock (F_OFD_SETLK) on bytes 0-99: re-taken on the restored descriptor. */
#define _GNU_SOURCE
#include "case.h"

int main(void) {
  int fd = open("ofd.file", O_RDWR | O_CREAT, 0600);
  struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
  if (fd < 0 || fcntl(fd, F_OFD_SETLK, &w) != 0)
    case_fail("F_OFD_SETLK");
  case_ready();
  case_wait_go();
  int other = open("ofd.file", O_RDWR);
  struct flock p = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 1};
  int r = fcntl(other, F_OFD_SETLK, &p);
  case_print("conflicting lock refused %d\n", r != 0);
  struct flock u = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
  fcntl(fd, F_OFD_SETLK, &u);
  case_print("after unlock granted %d\n", fcntl(other, F_OFD_SETLK, &p) == 0);
  return 0;
}
