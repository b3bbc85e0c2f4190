/* A deleted file both open (read-only) and mapped privately. */
#include <sys/mman.h>

#include "case.h"

int main(void) {
  int fd = open("mapped.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    case_fail("open");
  for (int i = 0; i < 3000; ++i)
    dprintf(fd, "%d,", i);
  close(fd);
  fd = open("mapped.tmp", O_RDONLY);
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  m[0] = 'X';
  unlink("mapped.tmp");
  case_ready();
  case_wait_go();
  char buf[12] = {0};
  pread(fd, buf, 10, 0);
  case_print("mapping %.10s file %s\n", m, buf);
  return 0;
}
