/* A file opened read-write, written, then unlinked while open: its contents and offset survive. */
#include "case.h"

int main(void) {
  int fd = open("scratch.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    case_fail("open");
  for (int i = 0; i < 5000; ++i)
    dprintf(fd, "%d\n", i);
  lseek(fd, 100, SEEK_SET);
  unlink("scratch.tmp");
  case_ready();
  case_wait_go();
  char buf[16] = {0};
  read(fd, buf, 8);
  off_t end = lseek(fd, 0, SEEK_END);
  write(fd, "tail\n", 5);
  struct stat st;
  fstat(fd, &st);
  case_print("at 100: %.8s; end %ld, now %ld bytes, links %lu, name still free %d\n", buf, (long)end, (long)st.st_size,
             (unsigned long)st.st_nlink, access("scratch.tmp", F_OK) != 0);
  return 0;
}
