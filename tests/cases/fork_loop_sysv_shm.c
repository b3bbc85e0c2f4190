/* A thread forks without pause (each child exits at once) while the process holds a SysV shared
 * memory segment, so the checkpoint is likely to find that thread inside fork(). glibc holds every
 * malloc arena's lock inside fork, and a restart with a SysV attachment to make again runs the
 * restarted manager's allocating code before the threads are released: a thread captured there
 * hung the restart. fork is a critical section of libcr now (the checkpoint waits for it to end).
 * After the restart: the segment's data is back and the thread forks on (its last child, if it had
 * one, is not in the image: waitpid says ECHILD). */
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include "case.h"

static volatile int stop;

static void* forker(void* arg) {
  long* forks = arg;
  while (!stop) {
    pid_t child = fork();
    if (child == 0)
      _exit(0);
    if (child < 0)
      case_fail("fork");
    if (waitpid(child, NULL, 0) < 0 && errno != ECHILD)
      case_fail("waitpid");
    ++*forks;
  }
  return NULL;
}

int main(void) {
  /* 64 MiB of present (zero-written) pages: each fork copies their page tables, which keeps the
   * thread inside fork most of the time. Zero pages cost nothing in the image. */
  size_t ballast = 64u << 20;
  char* pages = mmap(NULL, ballast, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED)
    case_fail("mmap");
  memset(pages, 0, ballast);
  int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  if (id < 0)
    case_fail("shmget");
  char* m = shmat(id, NULL, 0);
  if (m == (void*)-1)
    case_fail("shmat");
  strcpy(m, "segment before");
  long forks = 0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, forker, &forks) != 0)
    case_fail("pthread_create");
  while (forks < 20) /* forking for sure before the checkpoint */
    usleep(1000);
  case_ready();
  case_wait_go();
  long at_go = forks;
  while (forks < at_go + 20) /* and on after the restart */
    usleep(1000);
  stop = 1;
  pthread_join(thread, NULL);
  strcpy(m + 4096, "written after");
  case_print("'%s' '%s' forked on: yes\n", m, m + 4096);
  shmdt(m);
  shmctl(id, IPC_RMID, NULL);
  return 0;
}
