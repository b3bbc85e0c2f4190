/* A child that keeps exec'ing itself while the tree is checkpointed: each exec replaces the
 * process and its crcore runtime; the checkpoint waits for the new one. */
#include "case_util.h"

int main(int argc, char** argv) {
  if (argc > 2 && strcmp(argv[1], "again") == 0) {
    struct stat st;
    long n = atol(argv[2]);
    if (stat(case_env("CRCORE_CASE_GO"), &st) == 0) {
      return n >= 0 ? 4 : 1;
    }
    char next[32];
    snprintf(next, sizeof next, "%ld", n + 1);
    struct timespec t = {0, 5 * 1000 * 1000};
    nanosleep(&t, NULL);
    execl("/proc/self/exe", argv[0], "again", next, (char*)NULL);
    case_die("exec");
  }
  pid_t child = case_fork();
  if (child == 0) {
    execl("/proc/self/exe", argv[0], "again", "0", (char*)NULL);
    case_die("exec");
  }
  case_ready();
  case_wait_go();
  case_print_status("exec'ing child (4: it exec'd and saw GO)", case_wait(child));
  return 0;
}
