/* Signal handlers, their flags and masks, and an ignored signal, installed before the checkpoint. */
#include <signal.h>

#include "case.h"

static volatile sig_atomic_t got_usr1, got_usr2;
static void on_usr1(int sig) { got_usr1 = sig; }
static void on_usr2(int sig, siginfo_t* info, void* ctx) {
  (void)ctx;
  got_usr2 = sig + info->si_value.sival_int;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaction(SIGUSR1, &sa, NULL);
  struct sigaction sb = {0};
  sb.sa_sigaction = on_usr2;
  sb.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR2, &sb, NULL);
  signal(SIGPIPE, SIG_IGN);
  case_ready();
  case_wait_go();
  raise(SIGUSR1);
  union sigval v = {.sival_int = 1000};
  sigqueue(getpid(), SIGUSR2, v);
  struct sigaction now;
  sigaction(SIGUSR1, NULL, &now);
  struct sigaction pipe_now;
  sigaction(SIGPIPE, NULL, &pipe_now);
  case_print("usr1 %d usr2 %d; usr1 masks TERM: %d; usr2 flags siginfo %d restart %d; pipe ignored %d\n", got_usr1,
             got_usr2, sigismember(&now.sa_mask, SIGTERM), (sb.sa_flags & SA_SIGINFO) != 0,
             (sb.sa_flags & SA_RESTART) != 0, pipe_now.sa_handler == SIG_IGN);
  return 0;
}
