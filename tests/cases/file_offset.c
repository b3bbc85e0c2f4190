/* A regular file read halfway and another written in O_APPEND mode: offsets and flags come back. */
#include "case.h"

int main(void) {
  FILE* f = fopen("data.txt", "w");
  if (f == NULL)
    case_fail("fopen");
  for (int i = 0; i < 100; ++i)
    fprintf(f, "line %03d\n", i);
  fclose(f);
  int r = open("data.txt", O_RDONLY);
  int a = open("log.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (r < 0 || a < 0)
    case_fail("open");
  char buf[9 * 40];
  if (read(r, buf, sizeof buf) != (ssize_t)sizeof buf)
    case_fail("read");
  if (write(a, "before\n", 7) != 7)
    case_fail("write");
  case_ready();
  case_wait_go();
  char line[10] = {0};
  if (read(r, line, 9) != 9)
    case_fail("read");
  lseek(a, 0, SEEK_SET);
  if (write(a, "after\n", 6) != 6)
    case_fail("write");
  char log[64] = {0};
  int l = open("log.txt", O_RDONLY);
  ssize_t n = read(l, log, sizeof log - 1);
  case_print("next line: %s", line);
  case_print("offset %ld, append flag %d, log (%zd bytes):\n%s", (long)lseek(r, 0, SEEK_CUR),
             (fcntl(a, F_GETFL) & O_APPEND) != 0, n, log);
  return 0;
}
