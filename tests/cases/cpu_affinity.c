/* CPU affinity of each thread: the main thread on the last CPU, a worker on the first one. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "case.h"

static pthread_barrier_t b;
static int worker_cpus[2];

static void* worker(void* arg) {
  (void)arg;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(0, &s);
  sched_setaffinity(0, sizeof s, &s);
  pthread_barrier_wait(&b);
  pthread_barrier_wait(&b);
  sched_getaffinity(0, sizeof s, &s);
  worker_cpus[0] = CPU_COUNT(&s);
  worker_cpus[1] = CPU_ISSET(0, &s);
  return NULL;
}

int main(void) {
  cpu_set_t all;
  sched_getaffinity(0, sizeof all, &all);
  int last = -1;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &all))
      last = i;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(last, &s);
  sched_setaffinity(0, sizeof s, &s);
  pthread_barrier_init(&b, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_barrier_wait(&b);
  case_ready();
  case_wait_go();
  pthread_barrier_wait(&b);
  pthread_join(t, NULL);
  sched_getaffinity(0, sizeof s, &s);
  case_print("main on %d cpu(s), the last one %d; worker on %d cpu(s), cpu 0 %d\n", CPU_COUNT(&s), CPU_ISSET(last, &s),
             worker_cpus[0], worker_cpus[1]);
  return 0;
}
