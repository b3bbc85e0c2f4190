/* A SysV message queue created by the process, holding three messages of two types: saved in the
 * image (copied, not taken); the queue still exists at the restart, so it is emptied and refilled. */
#include <sys/ipc.h>
#include <sys/msg.h>

#include "case.h"

struct message {
  long type;
  char text[32];
};

int main(void) {
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("msgget");
  struct message m = {1, "one"};
  msgsnd(id, &m, sizeof m.text, 0);
  m.type = 2;
  strcpy(m.text, "two");
  msgsnd(id, &m, sizeof m.text, 0);
  m.type = 1;
  strcpy(m.text, "three");
  msgsnd(id, &m, sizeof m.text, 0);
  case_ready();
  case_wait_go();
  while (msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT) > 0)
    case_print("type %ld: %s\n", m.type, m.text);
  msgctl(id, IPC_RMID, NULL);
  return 0;
}
