/* A signalfd for SIGUSR1 and SIGRTMIN, with SIGUSR1 already pending when checkpointed. */
#include <signal.h>
#include <sys/signalfd.h>

#include "case.h"

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &s, NULL);
  int fd = signalfd(-1, &s, SFD_NONBLOCK);
  if (fd < 0)
    case_fail("signalfd");
  kill(getpid(), SIGUSR1);
  case_ready();
  case_wait_go();
  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGRTMIN, v);
  struct signalfd_siginfo info;
  while (read(fd, &info, sizeof info) == sizeof info) {
    case_print("signal %s value %d\n",
               info.ssi_signo == SIGUSR1              ? "USR1"
               : info.ssi_signo == (unsigned)SIGRTMIN ? "RTMIN"
                                                      : "?",
               info.ssi_signo == SIGUSR1 ? 0 : info.ssi_int);
  }
  return 0;
}
