/* A SysV message queue and a semaphore set shared by a parent and its child (in both images; restored
 * once, before either runs): the child is blocked in msgrcv for type 2 at the checkpoint, a type-1
 * message is queued; after the restart the parent sends type 2, the child gets it, posts the
 * semaphore, and the parent sees the queue and the semaphores as they should be. */
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include "case_util.h"

struct message {
  long type;
  char text[32];
};

int main(void) {
  int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  int s = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (q < 0 || s < 0) {
    case_die("msgget/semget");
  }
  semctl(s, 1, SETVAL, 6);
  struct message m = {1, "first"};
  msgsnd(q, &m, sizeof m.text, 0);
  char up[512];
  case_marker(up, sizeof up, "child");
  pid_t child = case_fork();
  if (child == 0) {
    struct sembuf op = {1, -1, 0};
    semop(s, &op, 1); /* 6 -> 5: the child has used the set too */
    case_touch(up);
    struct message got;
    ssize_t n = msgrcv(q, &got, sizeof got.text, 2, 0); /* blocked across the checkpoint */
    printf("child: %zd bytes of type %ld: %s\n", n, got.type, got.text);
    fflush(stdout);
    struct sembuf post = {0, 3, 0};
    semop(s, &post, 1);
    return 0;
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  m.type = 2;
  strcpy(m.text, "second");
  msgsnd(q, &m, sizeof m.text, 0);
  struct sembuf wait_child = {0, -3, 0};
  semop(s, &wait_child, 1);
  case_print_status("child", case_wait(child));
  struct msqid_ds ds;
  msgctl(q, IPC_STAT, &ds);
  printf("queue: %lu message(s) left", (unsigned long)ds.msg_qnum);
  while (msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT) >= 0) {
    printf(", type %ld '%s'", m.type, m.text);
  }
  printf("; semaphores %d %d\n", semctl(s, 0, GETVAL), semctl(s, 1, GETVAL));
  msgctl(q, IPC_RMID, NULL);
  semctl(s, 0, IPC_RMID);
  return 0;
}
