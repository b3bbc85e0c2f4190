/* The HPC idiom: an IPC_PRIVATE segment marked for deletion (IPC_RMID) right after it is attached, so
 * it goes away with the last process. Gone after the kill: cr_restart recreates it with its id and
 * fills it, the restarted process attaches it again and marks it for deletion again. After the
 * restart: the data is back, it is still marked for deletion (SHM_DEST) with one attachment, and a
 * second attachment by id (Linux allows it while the segment lives) sees a write through the first. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include "case.h"

int main(void) {
  size_t size = 3 * 4096 + 100; /* not a whole number of pages */
  int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("shmget");
  double* a = shmat(id, NULL, 0);
  if (a == (void*)-1)
    case_fail("shmat");
  if (shmctl(id, IPC_RMID, NULL) != 0)
    case_fail("IPC_RMID");
  size_t n = size / sizeof(double);
  for (size_t i = 0; i < n; ++i)
    a[i] = (double)i * 0.5;
  case_ready();
  case_wait_go();
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    sum += a[i];
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  case_print("sum %.1f; marked for deletion %s, size %zu, attached %lu\n", sum,
             (ds.shm_perm.mode & SHM_DEST) ? "yes" : "no", (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch);
  double* b = shmat(id, NULL, 0);
  a[n - 1] = -1;
  case_print("second attachment: %s, sees %.1f\n", b == (void*)-1 ? "refused" : "ok", b == (void*)-1 ? 0.0 : b[n - 1]);
  return 0;
}
