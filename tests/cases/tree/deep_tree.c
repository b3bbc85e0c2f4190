/* A tree of 15 processes (4 levels, 2 children each): each leaf exits with its number, each inner
 * process with the sum of its children's, modulo 256. */
#include "case_util.h"

static int grow(int level, int number) {
  if (level == 3) {
    char up[512], name[32];
    snprintf(name, sizeof name, "leaf%d", number);
    case_marker(up, sizeof up, name);
    case_touch(up);
    case_wait_go();
    return number;
  }
  pid_t kids[2];
  for (int i = 0; i < 2; ++i) {
    kids[i] = case_fork();
    if (kids[i] == 0) {
      _exit(grow(level + 1, number * 2 + i));
    }
  }
  int sum = 0;
  for (int i = 0; i < 2; ++i) {
    int status = case_wait(kids[i]);
    sum += WIFEXITED(status) ? WEXITSTATUS(status) : 1000;
  }
  return sum % 256;
}

int main(void) {
  pid_t top = case_fork();
  if (top == 0) {
    _exit(grow(0, 1));
  }
  for (int n = 8; n < 16; ++n) {
    char up[512], name[32];
    snprintf(name, sizeof name, "leaf%d", n);
    case_marker(up, sizeof up, name);
    case_wait_file(up);
  }
  case_ready();
  case_wait_go();
  case_print_status("sum of the leaves 8..15", case_wait(top));
  return 0;
}
