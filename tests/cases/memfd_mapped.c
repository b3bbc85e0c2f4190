/* A memfd both open and mapped shared: a write through the mapping must show through the descriptor. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "case.h"

int main(void) {
  int fd = memfd_create("mapped-memfd", 0);
  if (fd < 0 || ftruncate(fd, 4096) != 0)
    case_fail("memfd_create");
  char* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  strcpy(m, "before");
  case_ready();
  case_wait_go();
  strcpy(m, "after!");
  char buf[8] = {0};
  pread(fd, buf, 6, 0);
  case_print("through the fd: %s\n", buf);
  return 0;
}
