/* A SysV shared memory segment (marked for deletion, as HPC codes do) shared by a parent and its
 * forked child: in both images, restored once before either runs, attached again in both. After the
 * restart each writes its half and waits (through the segment) for the other's: both see both. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include "case_util.h"

struct shared {
  volatile int parent_done;
  volatile int child_done;
  char from_parent[64];
  char from_child[64];
  char before[64];
};

int main(void) {
  int id = shmget(IPC_PRIVATE, sizeof(struct shared), IPC_CREAT | 0600);
  if (id < 0) {
    case_die("shmget");
  }
  struct shared* s = shmat(id, NULL, 0);
  if (s == (void*)-1) {
    case_die("shmat");
  }
  shmctl(id, IPC_RMID, NULL);
  strcpy(s->before, "written before the checkpoint");
  char up[512];
  case_marker(up, sizeof up, "child");
  pid_t child = case_fork();
  if (child == 0) {
    case_touch(up);
    while (!s->parent_done) { /* across the checkpoint: the parent writes after the restart */
      usleep(1000);
    }
    printf("child: '%s' '%s'\n", s->before, s->from_parent);
    fflush(stdout);
    strcpy(s->from_child, "hello from the child");
    __sync_synchronize();
    s->child_done = 1;
    return 0;
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  strcpy(s->from_parent, "hello from the parent");
  __sync_synchronize();
  s->parent_done = 1;
  while (!s->child_done) {
    usleep(1000);
  }
  case_print_status("child", case_wait(child));
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  printf("parent: '%s'; marked for deletion %s, attached %lu\n", s->from_child,
         (ds.shm_perm.mode & SHM_DEST) ? "yes" : "no", (unsigned long)ds.shm_nattch);
  return 0;
}
