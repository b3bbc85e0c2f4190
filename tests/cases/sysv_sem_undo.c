/* A process holding a SEM_UNDO adjustment (a semop with SEM_UNDO not undone): the kernel's undo
 * list cannot be given back to a restarted process, so the checkpoint is refused. */
#include <sys/ipc.h>
#include <sys/sem.h>

#include "case.h"

int main(void) {
  int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("semget");
  semctl(id, 0, SETVAL, 2);
  struct sembuf take = {0, -1, SEM_UNDO};
  struct sembuf give = {0, 1, SEM_UNDO};
  semop(id, &take, 1); /* a lock taken and given back: no adjustment left */
  semop(id, &give, 1);
  semop(id, &take, 1); /* and taken again: an adjustment of +1 held */
  case_ready();
  case_wait_go();
  semop(id, &give, 1);
  case_print("value %d\n", semctl(id, 0, GETVAL));
  semctl(id, 0, IPC_RMID);
  return 0;
}
