/* A signal pending for one thread only (pthread_kill while it blocks it), and another for the main. */
#include <pthread.h>
#include <signal.h>

#include "case.h"

static pthread_barrier_t b;
static int thread_pending_usr2, thread_pending_usr1;

static void* worker(void* arg) {
  (void)arg;
  pthread_barrier_wait(&b);
  pthread_barrier_wait(&b);
  sigset_t p;
  sigpending(&p);
  thread_pending_usr2 = sigismember(&p, SIGUSR2);
  thread_pending_usr1 = sigismember(&p, SIGUSR1);
  int sig = 0;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  sigwait(&s, &sig);
  return (void*)(long)sig;
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  pthread_barrier_init(&b, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_kill(t, SIGUSR2);
  pthread_kill(pthread_self(), SIGUSR1);
  pthread_barrier_wait(&b);
  case_ready();
  case_wait_go();
  pthread_barrier_wait(&b);
  void* r;
  pthread_join(t, &r);
  sigset_t p;
  sigpending(&p);
  case_print("thread saw USR2 %d USR1 %d, sigwait got %s; main pending USR1 %d USR2 %d\n", thread_pending_usr2,
             thread_pending_usr1, (long)r == SIGUSR2 ? "USR2" : "?", sigismember(&p, SIGUSR1),
             sigismember(&p, SIGUSR2));
  return 0;
}
