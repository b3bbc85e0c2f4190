/* Two SysV shared memory segments (one IPC_PRIVATE, one with a key and mode 0640, the keyed one also
 * attached a second time read-only) removed between the kill and the restart (ipcrm): cr_restart
 * recreates them with the ids the program holds, the key, the mode and the contents, and the
 * restarted process has all three attachments back at their addresses. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include "case.h"

int main(void) {
  key_t key = (key_t)(0x43530000 | (getpid() & 0xffff));
  int a = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  int b = shmget(key, 5000, IPC_CREAT | IPC_EXCL | 0640);
  if (a < 0 || b < 0)
    case_fail("shmget");
  char* pa = shmat(a, NULL, 0);
  char* pb = shmat(b, NULL, 0);
  char* rb = shmat(b, NULL, SHM_RDONLY);
  if (pa == (void*)-1 || pb == (void*)-1 || rb == (void*)-1)
    case_fail("shmat");
  strcpy(pa + 4096, "private segment, second page");
  strcpy(pb + 4999 - 5, "tail");
  char command[128];
  snprintf(command, sizeof command, "ipcrm -m %d -m %d", a, b);
  case_after_kill(command);
  case_ready();
  case_wait_go();
  struct shmid_ds da, db;
  shmctl(a, IPC_STAT, &da);
  shmctl(b, IPC_STAT, &db);
  strcpy(pb, "head");
  case_print("a: '%s' size %zu attached %lu mode %o\n", pa + 4096, (size_t)da.shm_segsz, (unsigned long)da.shm_nattch,
             (unsigned)(da.shm_perm.mode & 0777));
  case_print("b by key: %s; '%s' read-only view '%s' '%s' size %zu attached %lu mode %o\n",
             shmget(key, 0, 0) == b ? "same id" : "another id", pb + 4999 - 5, rb + 4999 - 5, rb, (size_t)db.shm_segsz,
             (unsigned long)db.shm_nattch, (unsigned)(db.shm_perm.mode & 0777));
  shmdt(pa);
  shmdt(pb);
  shmdt(rb);
  shmctl(a, IPC_RMID, NULL);
  shmctl(b, IPC_RMID, NULL);
  return 0;
}
