/* NUMA policies of address ranges (mbind): MPOL_PREFERRED, MPOL_BIND and MPOL_INTERLEAVE on node
 * 0 (the one node here), one of them on part of a mapping, and a mapping left at the default;
 * read back (get_mempolicy MPOL_F_ADDR) after the restart. The thread's own policy stays default. */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "case.h"

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_F_ADDR (1 << 1)

static char* region(size_t pages) {
  char* p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    case_fail("mmap");
  return p;
}

static void bind_to(char* p, size_t pages, int mode) {
  unsigned long node0 = 1;
  if (syscall(SYS_mbind, p, pages * 4096, mode, &node0, 64, 0) != 0)
    case_fail("mbind mode %d", mode);
}

static void show(const char* name, char* p) {
  int mode = -1;
  unsigned long nodes = 0;
  if (syscall(SYS_get_mempolicy, &mode, &nodes, 64, p, MPOL_F_ADDR) != 0)
    case_fail("get_mempolicy %s", name);
  case_print("%s: mode %d nodes %lx; byte %d\n", name, mode, nodes, p[0]);
}

int main(void) {
  char* preferred = region(4);
  char* bound = region(8);
  char* interleaved = region(16);
  char* plain = region(4);
  bind_to(preferred, 4, MPOL_PREFERRED);
  bind_to(bound + 4 * 4096, 4, MPOL_BIND); /* the second half only */
  bind_to(interleaved, 16, MPOL_INTERLEAVE);
  for (int i = 0; i < 4; ++i) {
    preferred[i * 4096] = 1;
    plain[i * 4096] = 4;
  }
  for (int i = 0; i < 8; ++i)
    bound[i * 4096] = 2;
  for (int i = 0; i < 16; ++i)
    interleaved[i * 4096] = 3;
  case_ready();
  case_wait_go();
  show("preferred", preferred);
  show("bound, first half", bound);
  show("bound, second half", bound + 4 * 4096);
  show("interleaved", interleaved + 8 * 4096);
  show("default", plain);
  return 0;
}
