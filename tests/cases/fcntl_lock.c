/* fcntl (POSIX) record locks: a write lock on bytes 10-19 and a read lock on 100-: re-taken. */
#define _GNU_SOURCE
#include "case.h"

static void show(int fd, short type, off_t start, off_t len) {
  struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  fcntl(fd, F_OFD_GETLK, &f);
  case_print("probe %s %ld+%ld: %s", type == F_WRLCK ? "write" : "read", (long)start, (long)len,
             f.l_type == F_UNLCK ? "free\n" : "");
  if (f.l_type != F_UNLCK)
    case_print("held %s %ld+%ld\n", f.l_type == F_WRLCK ? "write" : "read", (long)f.l_start, (long)f.l_len);
}

int main(void) {
  int fd = open("records.file", O_RDWR | O_CREAT, 0600);
  if (fd < 0)
    case_fail("open");
  struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
  struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0};
  if (fcntl(fd, F_SETLK, &w) != 0 || fcntl(fd, F_SETLK, &r) != 0)
    case_fail("F_SETLK");
  case_ready();
  case_wait_go();
  int probe = open("records.file", O_RDWR);
  show(probe, F_RDLCK, 0, 50);
  show(probe, F_WRLCK, 200, 10);
  show(probe, F_RDLCK, 200, 10);
  show(probe, F_WRLCK, 30, 20);
  return 0;
}
