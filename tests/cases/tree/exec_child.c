/* A child that exec'd a program (this one, in child mode) before the checkpoint: the exec'd
 * program runs under crcore too (LD_PRELOAD is inherited) and is restored as what it became. */
#include "case_util.h"

int main(int argc, char** argv) {
  char up[512];
  case_marker(up, sizeof up, "exec");
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    case_touch(up);
    case_wait_go();
    printf("exec'd child: %s\n", argv[2]);
    return 11;
  }
  pid_t child = case_fork();
  if (child == 0) {
    execl("/proc/self/exe", argv[0], "child", "hello", (char*)NULL);
    case_die("exec");
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  case_print_status("exec'd child", case_wait(child));
  return 0;
}
