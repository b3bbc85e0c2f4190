/* A SysV semaphore set created by the process, with values set before the checkpoint: saved in the
 * image; the set still exists at the restart (the kernel kept it), so it is set back to them. */
#include <sys/ipc.h>
#include <sys/sem.h>

#include "case.h"

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

int main(void) {
  int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("semget");
  unsigned short values[3] = {4, 0, 9};
  union semun arg = {.array = values};
  semctl(id, 0, SETALL, arg);
  case_ready();
  case_wait_go();
  struct sembuf op = {0, -1, IPC_NOWAIT};
  int r = semop(id, &op, 1);
  case_print("semop %d; values %d %d %d\n", r, semctl(id, 0, GETVAL), semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
  semctl(id, 0, IPC_RMID);
  return 0;
}
