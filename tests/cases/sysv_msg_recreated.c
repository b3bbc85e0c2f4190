/* Two SysV message queues (one IPC_PRIVATE, one with a key, mode 0640 and a lowered byte limit)
 * removed between the kill and the restart: cr_restart recreates them with the ids the program
 * holds, the key, mode and limit, and their messages in order with their types and lengths (an
 * empty one, a 3000-byte one). */
#include <sys/ipc.h>
#include <sys/msg.h>

#include "case.h"

struct message {
  long type;
  char text[4096];
};

static void put(int id, long type, size_t length, char fill) {
  static struct message m;
  m.type = type;
  memset(m.text, fill, length);
  if (msgsnd(id, &m, length, IPC_NOWAIT) != 0)
    case_fail("msgsnd");
}

static void drain(const char* name, int id, long type) {
  static struct message m;
  ssize_t n;
  while ((n = msgrcv(id, &m, sizeof m.text, type, IPC_NOWAIT)) >= 0) {
    unsigned sum = 0;
    for (ssize_t i = 0; i < n; ++i)
      sum = sum * 31 + (unsigned char)m.text[i];
    case_print("%s: type %ld, %zd bytes, sum %u\n", name, m.type, n, sum);
  }
}

int main(void) {
  key_t key = (key_t)(0x43510000 | (getpid() & 0xffff));
  int a = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  int b = msgget(key, IPC_CREAT | IPC_EXCL | 0640);
  if (a < 0 || b < 0)
    case_fail("msgget");
  struct msqid_ds ds;
  msgctl(b, IPC_STAT, &ds);
  ds.msg_qbytes = 8000;
  if (msgctl(b, IPC_SET, &ds) != 0)
    case_fail("IPC_SET");
  put(a, 3, 5, 'a');
  put(a, 1, 0, 'b');
  put(a, 3, 3000, 'c');
  put(a, 2, 17, 'd');
  put(b, 9, 100, 'e');
  put(b, 4, 1, 'f');
  char command[128];
  snprintf(command, sizeof command, "ipcrm -q %d -q %d", a, b);
  case_after_kill(command);
  case_ready();
  case_wait_go();
  msgctl(b, IPC_STAT, &ds);
  case_print("by key: %s; mode %o, qbytes %lu, %lu messages\n", msgget(key, 0) == b ? "same id" : "another id",
             (unsigned)(ds.msg_perm.mode & 0777), (unsigned long)ds.msg_qbytes, (unsigned long)ds.msg_qnum);
  drain("a type 3", a, 3);
  drain("a rest", a, 0);
  drain("b", b, 0);
  msgctl(a, IPC_RMID, NULL);
  msgctl(b, IPC_RMID, NULL);
  return 0;
}
