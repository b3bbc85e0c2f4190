/* case: under-pty
 * A program started on a pseudo-terminal (script(1)): its terminal settings (echo off, a window
 * size) are on the new terminal cr_restart runs on. */
#include <sys/ioctl.h>
#include <termios.h>

#include "case.h"

int main(void) {
  if (!isatty(1))
    case_fail("stdout is not a terminal");
  struct termios t;
  tcgetattr(1, &t);
  t.c_lflag &= ~(tcflag_t)ECHO;
  t.c_cc[VMIN] = 3;
  tcsetattr(1, TCSANOW, &t);
  struct winsize w = {.ws_row = 33, .ws_col = 101};
  ioctl(1, TIOCSWINSZ, &w);
  case_ready();
  case_wait_go();
  tcgetattr(1, &t);
  ioctl(1, TIOCGWINSZ, &w);
  case_print("tty %d echo %d vmin %d size %dx%d\n", isatty(1), (t.c_lflag & ECHO) != 0, t.c_cc[VMIN], w.ws_row,
             w.ws_col);
  return 0;
}
