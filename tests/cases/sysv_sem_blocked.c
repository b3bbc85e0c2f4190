/* A thread blocked in semop (waiting for a semaphore at 0) across the checkpoint and the restart:
 * after the restart it goes on waiting, and completes when the main thread posts the semaphore. */
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "case.h"

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

static int id;

static void* waiter(void* unused) {
  (void)unused;
  struct sembuf op = {0, -2, 0};
  long r = semop(id, &op, 1);
  return (void*)(r == 0 ? 0L : (long)errno);
}

int main(void) {
  id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("semget");
  unsigned short values[2] = {1, 5};
  union semun arg = {.array = values};
  semctl(id, 0, SETALL, arg);
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  while (semctl(id, 0, GETNCNT) != 1) /* until the thread waits in semop */
    case_sleep_ms(10);
  case_ready();
  case_wait_go();
  struct sembuf post = {0, 1, 0};
  int r = semop(id, &post, 1);
  void* result;
  pthread_join(t, &result);
  case_print("post %d; waiter %ld; values %d %d\n", r, (long)result, semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
  semctl(id, 0, IPC_RMID);
  return 0;
}
