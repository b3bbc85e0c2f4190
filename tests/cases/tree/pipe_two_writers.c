/* One pipe shared by three processes: the parent and child A both hold the write end (and wrote
 * before the checkpoint), child B reads. It must come back as one pipe: B sees everything, in
 * order per writer, and EOF once both writers have closed it. */
#include "case_util.h"

static int compare(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

int main(void) {
  int p[2];
  if (pipe(p) != 0) {
    case_die("pipe");
  }
  char up_a[512], up_b[512];
  case_marker(up_a, sizeof up_a, "a");
  case_marker(up_b, sizeof up_b, "b");
  pid_t b = case_fork();
  if (b == 0) {
    close(p[1]);
    case_touch(up_b);
    case_wait_go();
    static char buf[65536];
    size_t n = case_read_all(p[0], buf, sizeof buf - 1);
    buf[n] = '\0';
    char* lines[64];
    int count = 0;
    for (char* s = strtok(buf, "\n"); s != NULL && count < 64; s = strtok(NULL, "\n")) {
      lines[count++] = s;
    }
    qsort(lines, (size_t)count, sizeof lines[0], compare);
    printf("reader got %d lines until EOF:\n", count);
    for (int i = 0; i < count; ++i) {
      printf("  %s\n", lines[i]);
    }
    return 0;
  }
  close(p[0]);
  pid_t a = case_fork();
  if (a == 0) {
    case_write_all(p[1], "a: before\n", 10);
    case_touch(up_a);
    case_wait_go();
    case_write_all(p[1], "a: after\n", 9);
    return 0;
  }
  case_write_all(p[1], "parent: before\n", 15);
  case_wait_file(up_a);
  case_wait_file(up_b);
  case_ready();
  case_wait_go();
  case_write_all(p[1], "parent: after\n", 14);
  close(p[1]);
  case_wait(a);
  case_print_status("reader", case_wait(b));
  return 0;
}
