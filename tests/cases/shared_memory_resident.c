/* Shared memory whose pages this process never touched through its mapping: a memfd filled with
 * write(2) and then mapped (the descriptor closed), and a shared anonymous mapping filled by a child
 * process before the checkpoint. Their pages are in the shared object, not in this process's page
 * tables, and must still be in the image. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "case.h"

enum { kBytes = 1 << 20 };

static uint64_t sum(const unsigned char* p) {
  uint64_t s = 0;
  for (size_t i = 0; i < kBytes; ++i)
    s = s * 31 + p[i];
  return s;
}

int main(void) {
  int fd = memfd_create("case-resident", 0);
  if (fd < 0)
    case_fail("memfd_create");
  unsigned char block[4096];
  for (int b = 0; b < kBytes / 4096; ++b) {
    for (int i = 0; i < 4096; ++i)
      block[i] = (unsigned char)(b * 7 + i);
    if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
      case_fail("write");
  }
  unsigned char* written = mmap(NULL, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (written == MAP_FAILED)
    case_fail("mmap memfd");
  close(fd); /* mapped only: an open memfd is refused (memfd_mapped) */

  unsigned char* filled = mmap(NULL, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (filled == MAP_FAILED)
    case_fail("mmap shared");
  /* This process's page tables for `filled` stay empty: only the child writes (the parent has not
   * touched the mapping before the fork, so the fork copies no entries for it). */
  pid_t child = fork();
  if (child < 0)
    case_fail("fork");
  if (child == 0) {
    for (size_t i = 0; i < kBytes; ++i)
      filled[i] = (unsigned char)(i * 13 + 5);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    case_fail("child");

  case_ready();
  case_wait_go();
  case_print("written through the descriptor: %016llx\n", (unsigned long long)sum(written));
  case_print("filled by a child: %016llx\n", (unsigned long long)sum(filled));
  return 0;
}
