/* Lowered resource limits (open files, core size, stack) come back. */
#include <sys/resource.h>

#include "case.h"

int main(void) {
  struct rlimit r = {1000, 1500};
  setrlimit(RLIMIT_NOFILE, &r);
  struct rlimit c = {0, 4096};
  setrlimit(RLIMIT_CORE, &c);
  case_ready();
  case_wait_go();
  getrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_CORE, &c);
  case_print("nofile %lu/%lu core %lu/%lu\n", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max,
             (unsigned long)c.rlim_cur, (unsigned long)c.rlim_max);
  return 0;
}
