/* flock(LOCK_EX) held on a file: still held after the restart (another open of the file cannot take it). */
#include <sys/file.h>

#include "case.h"

int main(void) {
  int fd = open("locked.file", O_RDWR | O_CREAT, 0600);
  int sh = open("shared.file", O_RDWR | O_CREAT, 0600);
  if (fd < 0 || flock(fd, LOCK_EX) != 0 || flock(sh, LOCK_SH) != 0)
    case_fail("flock");
  case_ready();
  case_wait_go();
  int other = open("locked.file", O_RDWR);
  int r = flock(other, LOCK_EX | LOCK_NB);
  int e = errno;
  int other_sh = open("shared.file", O_RDONLY);
  int rs = flock(other_sh, LOCK_SH | LOCK_NB);
  int rx = flock(open("shared.file", O_RDONLY), LOCK_EX | LOCK_NB);
  case_print("exclusive lock still held %d; shared lock shares %d, excludes %d\n", r != 0 && e == EWOULDBLOCK, rs == 0,
             rx != 0);
  flock(fd, LOCK_UN);
  case_print("after unlock: %d\n", flock(other, LOCK_EX | LOCK_NB));
  return 0;
}
