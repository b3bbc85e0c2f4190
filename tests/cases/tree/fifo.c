/* A named FIFO between parent and child with unread data in it at the checkpoint. */
#include "case_util.h"

int main(void) {
  char path[512], up[512];
  case_marker(path, sizeof path, "fifo");
  case_marker(up, sizeof up, "reader");
  unlink(path);
  if (mkfifo(path, 0600) != 0) {
    case_die("mkfifo");
  }
  pid_t child = case_fork();
  if (child == 0) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      case_die("open fifo");
    }
    case_touch(up);
    case_wait_go();
    char buf[4096];
    size_t n = case_read_all(fd, buf, sizeof buf);
    printf("child read %zu bytes through the fifo: %.*s", n, (int)n, buf);
    return 0;
  }
  int fd = open(path, O_WRONLY);
  if (fd < 0) {
    case_die("open fifo");
  }
  case_write_all(fd, "queued before the checkpoint\n", 29);
  case_wait_file(up);
  case_ready();
  case_wait_go();
  close(fd);
  case_print_status("child", case_wait(child));
  unlink(path);
  return 0;
}
