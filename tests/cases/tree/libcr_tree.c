/* libcr's CR_SCOPE_TREE: after GO the case asks for a checkpoint of its own tree (itself and a
 * child) with cr_request_checkpoint, waits for it with cr_poll_checkpoint, and reads the scope
 * index written into its descriptor. */
#include <libcr.h>

#include "case_util.h"

int main(void) {
  char up[512], index_path[512];
  case_marker(up, sizeof up, "child");
  case_marker(index_path, sizeof index_path, "libcr.ctx");
  pid_t child = case_fork();
  if (child == 0) {
    case_touch(up);
    case_wait_go();
    char done[600];
    snprintf(done, sizeof done, "%s.done", index_path);
    case_wait_file(done);
    _exit(6);
  }
  case_wait_file(up);
  case_ready();
  case_wait_go();
  if (cr_init() < 0) {
    case_die("cr_init");
  }
  int fd = open(index_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    case_die("open");
  }
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_TREE;
  args.cr_fd = fd;
  cr_checkpoint_handle_t handle;
  if (cr_request_checkpoint(&args, &handle) != 0) {
    case_die("cr_request_checkpoint");
  }
  int rc;
  do {
    rc = cr_poll_checkpoint(&handle, NULL);
  } while (rc == 0 || (rc < 0 && errno == EINTR));
  printf("cr_poll_checkpoint: %d\n", rc);
  char text[4096] = {0};
  ssize_t n = pread(fd, text, sizeof text - 1, 0);
  int processes = 0;
  for (char* line = strtok(n > 0 ? text : NULL, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    processes += strncmp(line, "process ", 8) == 0;
  }
  printf("the index lists %d processes\n", processes);
  char done[600];
  snprintf(done, sizeof done, "%s.done", index_path);
  case_touch(done);
  case_print_status("child", case_wait(child));
  return 0;
}
