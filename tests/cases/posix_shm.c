/* POSIX shared memory (/dev/shm) opened with shm_open and mapped shared; its descriptor stays open. */
#include <sys/mman.h>

#include "case.h"

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "/crcore-case-%d", (int)getpid());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, 8192) != 0)
    case_fail("shm_open");
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    case_fail("mmap");
  strcpy(m, "written through the mapping");
  case_ready();
  case_wait_go();
  char buf[64] = {0};
  pread(fd, buf, sizeof buf - 1, 0);
  strcpy(m + 4096, "second page");
  char buf2[32] = {0};
  pread(fd, buf2, sizeof buf2 - 1, 4096);
  struct stat st;
  fstat(fd, &st);
  case_print("through the fd: '%s' '%s', size %ld\n", buf, buf2, (long)st.st_size);
  shm_unlink(name);
  return 0;
}
