/* An alternate signal stack in the main thread and another in a second thread: handlers run on them. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "case.h"

static char main_stack[65536], thread_stack[65536];
static volatile int on_main_alt, on_thread_alt;
static volatile char* expect_lo;

static void handler(int sig) {
  char here;
  int on = (char*)&here >= (char*)expect_lo && (char*)&here < (char*)expect_lo + 65536;
  if (sig == SIGUSR1)
    on_main_alt = on;
  else
    on_thread_alt = on;
}

static pthread_barrier_t b;
static void* waiter(void* arg) {
  (void)arg;
  stack_t ss = {.ss_sp = thread_stack, .ss_size = sizeof thread_stack};
  sigaltstack(&ss, NULL);
  pthread_barrier_wait(&b); /* set up */
  pthread_barrier_wait(&b); /* go */
  expect_lo = thread_stack;
  raise(SIGUSR2);
  stack_t now;
  sigaltstack(NULL, &now);
  case_print("thread altstack size %zu at its buffer %d\n", now.ss_size, now.ss_sp == thread_stack);
  return NULL;
}

int main(void) {
  stack_t ss = {.ss_sp = main_stack, .ss_size = sizeof main_stack};
  if (sigaltstack(&ss, NULL) != 0)
    case_fail("sigaltstack");
  struct sigaction sa = {0};
  sa.sa_handler = handler;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  pthread_barrier_init(&b, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  pthread_barrier_wait(&b);
  case_ready();
  case_wait_go();
  expect_lo = main_stack;
  raise(SIGUSR1);
  stack_t now;
  sigaltstack(NULL, &now);
  case_print("main altstack size %zu at its buffer %d, handler ran on it %d\n", now.ss_size, now.ss_sp == main_stack,
             on_main_alt);
  pthread_barrier_wait(&b);
  pthread_join(t, NULL);
  case_print("thread handler ran on its altstack %d\n", on_thread_alt);
  return 0;
}
