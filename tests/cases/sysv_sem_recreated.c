/* Two SysV semaphore sets (one IPC_PRIVATE, one with a key, mode 0640) removed between the kill and
 * the restart: cr_restart recreates them from the image with the ids the program holds, the key
 * (semget by key finds the same id), mode and values. */
#include <sys/ipc.h>
#include <sys/sem.h>

#include "case.h"

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

int main(void) {
  key_t key = (key_t)(0x43520000 | (getpid() & 0xffff));
  int a = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  int b = semget(key, 4, IPC_CREAT | IPC_EXCL | 0640);
  if (a < 0 || b < 0)
    case_fail("semget");
  unsigned short va[2] = {7, 1};
  unsigned short vb[4] = {0, 32767, 3, 12};
  union semun arg = {.array = va};
  semctl(a, 0, SETALL, arg);
  arg.array = vb;
  semctl(b, 0, SETALL, arg);
  char command[128];
  snprintf(command, sizeof command, "ipcrm -s %d -s %d", a, b);
  case_after_kill(command);
  case_ready();
  case_wait_go();
  struct semid_ds ds;
  arg.buf = &ds;
  semctl(b, 0, IPC_STAT, arg);
  case_print("by key: %s; mode %o, %lu semaphores\n", semget(key, 0, 0) == b ? "same id" : "another id",
             (unsigned)(ds.sem_perm.mode & 0777), (unsigned long)ds.sem_nsems);
  struct sembuf ops[2] = {{0, -7, IPC_NOWAIT}, {1, 1, IPC_NOWAIT}};
  int r = semop(a, ops, 2);
  case_print("semop %d; a %d %d; b %d %d %d %d\n", r, semctl(a, 0, GETVAL), semctl(a, 1, GETVAL), semctl(b, 0, GETVAL),
             semctl(b, 1, GETVAL), semctl(b, 2, GETVAL), semctl(b, 3, GETVAL));
  semctl(a, 0, IPC_RMID);
  semctl(b, 0, IPC_RMID);
  return 0;
}
