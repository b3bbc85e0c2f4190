/* A memfd written through its descriptor, sealed against shrinking, read from an offset. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "case.h"

int main(void) {
  int fd = memfd_create("case-memfd", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0)
    case_fail("memfd_create");
  for (int i = 0; i < 2000; ++i)
    dprintf(fd, "%04d,", i);
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
  lseek(fd, 5000, SEEK_SET);
  case_ready();
  case_wait_go();
  char buf[11] = {0};
  read(fd, buf, 10);
  struct stat st;
  fstat(fd, &st);
  case_print("at 5000: %s size %ld seals %x shrink refused %d\n", buf, (long)st.st_size, fcntl(fd, F_GET_SEALS),
             ftruncate(fd, 10) != 0);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char link[128] = {0};
  readlink(path, link, sizeof link - 1);
  case_print("name %s\n", link);
  return 0;
}
