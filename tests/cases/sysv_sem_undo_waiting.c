/* A thread waiting in a semop with SEM_UNDO at the checkpoint: the adjustment it will hold is not
 * known, so the checkpoint is refused; the wait survives the refused checkpoint's signal and
 * completes when the main thread posts. */
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "case.h"

static int id;

static void* waiter(void* unused) {
  (void)unused;
  struct sembuf op = {0, -1, SEM_UNDO};
  long r = semop(id, &op, 1);
  return (void*)(r == 0 ? 0L : (long)errno);
}

int main(void) {
  id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("semget");
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
  case_print("post %d; waiter %ld; value %d\n", r, (long)result, semctl(id, 0, GETVAL));
  semctl(id, 0, IPC_RMID);
  return 0;
}
