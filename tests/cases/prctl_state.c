/* prctl state: the parent-death signal, the name, "keep capabilities", child subreaper, no_new_privs. */
#include <signal.h>
#include <sys/prctl.h>

#include "case.h"

int main(void) {
  prctl(PR_SET_PDEATHSIG, SIGUSR2);
  prctl(PR_SET_NAME, "prctl-case");
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 123456);
  case_ready();
  case_wait_go();
  int sig = 0, reaper = 0;
  prctl(PR_GET_PDEATHSIG, &sig);
  prctl(PR_GET_CHILD_SUBREAPER, &reaper);
  char name[16];
  prctl(PR_GET_NAME, name);
  case_print("pdeathsig %d name %s subreaper %d no_new_privs %d dumpable %d timerslack %d\n", sig, name, reaper,
             prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_DUMPABLE), prctl(PR_GET_TIMERSLACK));
  return 0;
}
