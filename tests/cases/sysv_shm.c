/* A SysV shared memory segment created and attached by the process, written before the checkpoint
 * (still there at the restart: reused, filled from the image, attached again at its address). After
 * the restart: the data is back, a write goes through the segment (a second attachment sees it), and
 * shmctl IPC_STAT shows its size and both attachments. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include "case.h"

int main(void) {
  int id = shmget(IPC_PRIVATE, 16384, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("shmget");
  char* m = shmat(id, NULL, 0);
  if (m == (void*)-1)
    case_fail("shmat");
  strcpy(m, "sysv segment");
  strcpy(m + 8192, "page three");
  case_ready();
  case_wait_go();
  char* again = shmat(id, NULL, SHM_RDONLY); /* a second view of the same segment */
  strcpy(m + 100, "written after");
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  case_print("'%s' '%s' second view '%s' '%s' size %zu attached %lu\n", m, m + 8192,
             again == (void*)-1 ? "?" : again + 100, again == (void*)-1 ? "?" : again, (size_t)ds.shm_segsz,
             (unsigned long)ds.shm_nattch);
  shmdt(again);
  shmdt(m);
  shmctl(id, IPC_RMID, NULL);
  return 0;
}
