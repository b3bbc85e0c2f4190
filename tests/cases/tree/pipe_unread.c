/* A pipe from parent to child holding 10000 unread bytes at the checkpoint; the child reads them
 * after GO to EOF. */
#include "case_util.h"

int main(void) {
  int p[2];
  if (pipe(p) != 0) {
    case_die("pipe");
  }
  char up[512];
  case_marker(up, sizeof up, "reader");
  pid_t child = case_fork();
  if (child == 0) {
    close(p[1]);
    case_touch(up);
    case_wait_go();
    static char buf[65536];
    size_t n = case_read_all(p[0], buf, sizeof buf);
    printf("child read %zu bytes, checksum %lx\n", n, case_checksum(buf, n));
    return 0;
  }
  close(p[0]);
  char data[10000];
  for (size_t i = 0; i < sizeof data; ++i) {
    data[i] = (char)('a' + i % 26);
  }
  case_write_all(p[1], data, sizeof data);
  case_wait_file(up);
  case_ready();
  case_wait_go();
  close(p[1]);
  case_print_status("child", case_wait(child));
  return 0;
}
