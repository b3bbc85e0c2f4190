/* The NUMA memory policy of the thread (set_mempolicy MPOL_PREFERRED on node 0). */
#include <sys/syscall.h>

#include "case.h"

#define MPOL_PREFERRED 1

int main(void) {
  unsigned long mask = 1;
  if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, &mask, 64) != 0)
    case_fail("set_mempolicy");
  case_ready();
  case_wait_go();
  int mode = -1;
  unsigned long now = 0;
  syscall(SYS_get_mempolicy, &mode, &now, 64, 0, 0);
  case_print("mode %d nodes %lx\n", mode, now);
  return 0;
}
