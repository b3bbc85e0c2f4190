/* A process that made itself not dumpable refuses to be checkpointed (its memory is private to it). */
#include <sys/prctl.h>

#include "case.h"

int main(void) {
  prctl(PR_SET_DUMPABLE, 0);
  case_ready();
  case_wait_go();
  case_print("dumpable %d\n", prctl(PR_GET_DUMPABLE));
  return 0;
}
