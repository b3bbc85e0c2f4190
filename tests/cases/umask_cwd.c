/* The working directory and the umask. */
#include <sys/stat.h>

#include "case.h"

int main(void) {
  mkdir("sub", 0755);
  if (chdir("sub") != 0)
    case_fail("chdir");
  umask(027);
  case_ready();
  case_wait_go();
  int fd = open("made-after", O_CREAT | O_WRONLY | O_TRUNC, 0666);
  struct stat st;
  fstat(fd, &st);
  char cwd[4096];
  getcwd(cwd, sizeof cwd);
  const char* last = strrchr(cwd, '/');
  case_print("cwd ends in %s, new file mode %o\n", last, (unsigned)(st.st_mode & 0777));
  return 0;
}
