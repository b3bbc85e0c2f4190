/* Each of three threads blocks a different set of signals; the masks come back per thread. */
#include <pthread.h>
#include <signal.h>

#include "case.h"

static pthread_barrier_t ready, go;
static int blocked_now[3][3];

static void* worker(void* arg) {
  long i = (long)arg;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1 + (int)i);
  if (i == 2)
    sigaddset(&s, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&go);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  blocked_now[i][0] = sigismember(&now, SIGUSR1);
  blocked_now[i][1] = sigismember(&now, SIGUSR2);
  blocked_now[i][2] = sigismember(&now, SIGHUP);
  return NULL;
}

int main(void) {
  pthread_barrier_init(&ready, NULL, 4);
  pthread_barrier_init(&go, NULL, 4);
  pthread_t t[3];
  for (long i = 0; i < 3; ++i)
    pthread_create(&t[i], NULL, worker, (void*)i);
  pthread_barrier_wait(&ready);
  case_ready();
  case_wait_go();
  pthread_barrier_wait(&go);
  for (int i = 0; i < 3; ++i) {
    pthread_join(t[i], NULL);
    case_print("thread %d blocks USR1 %d USR2 %d HUP %d\n", i, blocked_now[i][0], blocked_now[i][1], blocked_now[i][2]);
  }
  return 0;
}
