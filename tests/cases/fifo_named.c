/* A named FIFO opened for reading and for writing by the process, with unread bytes in it. */
#include <sys/stat.h>

#include "case.h"

int main(void) {
  if (mkfifo("the-fifo", 0600) != 0)
    case_fail("mkfifo");
  int r = open("the-fifo", O_RDONLY | O_NONBLOCK);
  int w = open("the-fifo", O_WRONLY);
  if (r < 0 || w < 0)
    case_fail("open");
  write(w, "queued in the fifo;", 19);
  case_ready();
  case_wait_go();
  write(w, " and more", 9);
  char buf[64] = {0};
  ssize_t n = read(r, buf, sizeof buf - 1);
  case_print("read %zd: %s (reader nonblocking %d)\n", n, buf, (fcntl(r, F_GETFL) & O_NONBLOCK) != 0);
  unlink("the-fifo");
  return 0;
}
