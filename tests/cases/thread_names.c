/* prctl(PR_SET_NAME) names of the main thread and two others. */
#include <pthread.h>
#include <sys/prctl.h>

#include "case.h"

static pthread_barrier_t b;
static char names[2][16];

static void* worker(void* arg) {
  long i = (long)arg;
  char name[16];
  snprintf(name, sizeof name, "worker-%ld", i);
  prctl(PR_SET_NAME, name);
  pthread_barrier_wait(&b);
  pthread_barrier_wait(&b);
  prctl(PR_GET_NAME, names[i]);
  return NULL;
}

int main(void) {
  prctl(PR_SET_NAME, "case-main");
  pthread_barrier_init(&b, NULL, 3);
  pthread_t t[2];
  for (long i = 0; i < 2; ++i)
    pthread_create(&t[i], NULL, worker, (void*)i);
  pthread_barrier_wait(&b);
  case_ready();
  case_wait_go();
  pthread_barrier_wait(&b);
  for (int i = 0; i < 2; ++i)
    pthread_join(t[i], NULL);
  char main_name[16];
  prctl(PR_GET_NAME, main_name);
  case_print("main '%s', threads '%s' '%s'\n", main_name, names[0], names[1]);
  return 0;
}
