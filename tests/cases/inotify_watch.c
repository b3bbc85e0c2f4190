/* An inotify instance watching two directories (the second one added after a removed watch):
 * watch descriptors and masks come back and events are reported after the restart. */
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "case.h"

int main(void) {
  mkdir("watched", 0755);
  mkdir("other", 0755);
  mkdir("gone", 0755);
  int in = inotify_init1(IN_NONBLOCK);
  if (in < 0)
    case_fail("inotify_init1");
  int w1 = inotify_add_watch(in, "watched", IN_CREATE | IN_DELETE);
  int w0 = inotify_add_watch(in, "gone", IN_CREATE);
  inotify_rm_watch(in, w0);
  int w2 = inotify_add_watch(in, "other", IN_CLOSE_WRITE);
  char buf[4096];
  while (read(in, buf, sizeof buf) > 0) {
  } /* the IN_IGNORED of the removed watch */
  case_ready();
  case_wait_go();
  close(open("watched/new-file", O_CREAT | O_WRONLY, 0644));
  close(open("other/closed", O_CREAT | O_WRONLY, 0644));
  unlink("watched/new-file");
  case_sleep_ms(50);
  ssize_t n = read(in, buf, sizeof buf);
  for (char* p = buf; n > 0 && p < buf + n;) {
    struct inotify_event* e = (struct inotify_event*)p;
    case_print("wd %s mask %x name %s\n",
               e->wd == w1   ? "w1"
               : e->wd == w2 ? "w2"
                             : "?",
               e->mask, e->len ? e->name : "");
    p += sizeof *e + e->len;
  }
  case_print("w1 %d w2 %d\n", w1, w2);
  return 0;
}
