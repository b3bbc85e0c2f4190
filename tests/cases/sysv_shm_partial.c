/* A SysV segment of three pages of which the last was unmapped (munmap of part of an attachment): a
 * restart can only attach the whole segment, so the checkpoint is refused, naming the segment; the
 * process goes on with its attachment as it was. */
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "case.h"

int main(void) {
  int id = shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("shmget");
  char* m = shmat(id, NULL, 0);
  if (m == (void*)-1)
    case_fail("shmat");
  shmctl(id, IPC_RMID, NULL);
  strcpy(m + 4096, "second page");
  if (munmap(m + 2 * 4096, 4096) != 0)
    case_fail("munmap");
  case_ready();
  case_wait_go();
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  case_print("'%s' size %zu attached %lu\n", m + 4096, (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch);
  return 0;
}
