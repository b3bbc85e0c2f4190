/* A process that keeps forking short-lived children while it is checkpointed: the checkpoint
 * neither hangs nor lets a child escape (each child is stopped and saved with the others, or
 * had exited). The children count; the output only says how they ended. */
#include "case_util.h"

int main(void) {
  case_ready();
  struct stat st;
  int bad = 0;
  const char* go = case_env("CRCORE_CASE_GO");
  while (stat(go, &st) != 0) {
    pid_t child = case_fork();
    if (child == 0) {
      struct timespec t = {0, 2 * 1000 * 1000};
      nanosleep(&t, NULL);
      _exit(3);
    }
    int status = case_wait(child);
    bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 3);
  }
  printf("every short-lived child exited with 3: %s\n", bad == 0 ? "yes" : "no");
  return 0;
}
