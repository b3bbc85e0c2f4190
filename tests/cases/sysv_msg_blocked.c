/* A thread blocked in msgrcv for type 7 across the checkpoint and the restart: after the restart it
 * goes on waiting, and gets its message when the main thread sends one (a type-5 message stays). */
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#include "case.h"

struct message {
  long type;
  char text[32];
};

static int id;
static struct message got;

static void* waiter(void* unused) {
  (void)unused;
  long n = msgrcv(id, &got, sizeof got.text, 7, 0);
  return (void*)(n >= 0 ? n : -(long)errno);
}

/* Whether the thread is in msgrcv now (/proc/self/task/TID/syscall starts with its number). */
static int in_msgrcv(pid_t tid) {
  char path[64], text[64] = "";
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  FILE* f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fgets(text, sizeof text, f) == NULL)
    text[0] = '\0';
  fclose(f);
  return atoi(text) == SYS_msgrcv;
}

static pid_t waiter_tid;
static void* start(void* arg) {
  waiter_tid = (pid_t)syscall(SYS_gettid);
  return waiter(arg);
}

int main(void) {
  id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("msgget");
  struct message m = {5, "five"};
  msgsnd(id, &m, sizeof m.text, 0);
  pthread_t t;
  pthread_create(&t, NULL, start, NULL);
  while (__atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE) == 0 || !in_msgrcv(waiter_tid))
    case_sleep_ms(10);
  case_ready();
  case_wait_go();
  m.type = 7;
  strcpy(m.text, "seven");
  msgsnd(id, &m, sizeof m.text, 0);
  void* result;
  pthread_join(t, &result);
  case_print("waiter %ld: type %ld '%s'\n", (long)result, got.type, got.text);
  while (msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT) > 0)
    case_print("left: type %ld '%s'\n", m.type, m.text);
  msgctl(id, IPC_RMID, NULL);
  return 0;
}
