// libcr scope requests (see scope_request.h). Normal context only (never in a handler).
#include "runtime/scope_request.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace crcore::runtime {
namespace {

// cr_checkpoint: $CRCORE_CR_CHECKPOINT, else ../bin/cr_checkpoint from libcr.so's directory.
std::string find_cr_checkpoint() {
  if (const char* env = getenv("CRCORE_CR_CHECKPOINT"); env != nullptr && *env != '\0') {
    return env;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&find_cr_checkpoint), &info) == 0 || info.dli_fname == nullptr) {
    return "";
  }
  std::string lib = info.dli_fname;
  auto slash = lib.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : lib.substr(0, slash);
  std::string candidate = dir + "/../bin/cr_checkpoint";
  return access(candidate.c_str(), X_OK) == 0 ? candidate : "";
}

}  // namespace

pid_t start_scope_checkpoint(const cr_checkpoint_args_t& args, std::string& why) {
  const char* flag = args.cr_scope == CR_SCOPE_TREE   ? "--tree"
                     : args.cr_scope == CR_SCOPE_PGRP ? "--pgid"
                     : args.cr_scope == CR_SCOPE_SESS ? "--sid"
                                                      : nullptr;
  if (flag == nullptr) {
    errno = EINVAL;
    why = "unknown scope";
    return -1;
  }
  std::string tool = find_cr_checkpoint();
  if (tool.empty()) {
    errno = CR_ENOSUPPORT;
    why = "cr_checkpoint not found (set CRCORE_CR_CHECKPOINT)";
    return -1;
  }
  char link[64], dest[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", args.cr_fd);
  ssize_t n = readlink(link, dest, sizeof dest - 1);
  if (n <= 0 || dest[0] != '/') {
    errno = EINVAL;
    why = "cr_fd must be a file: its images are written beside it";
    return -1;
  }
  dest[n] = '\0';
  pid_t target = args.cr_target == 0 ? (args.cr_scope == CR_SCOPE_TREE   ? getpid()
                                        : args.cr_scope == CR_SCOPE_PGRP ? getpgrp()
                                                                         : getsid(0))
                                     : args.cr_target;
  std::vector<std::string> argv = {
      tool, flag, std::to_string(target), "-f", dest, "--index-fd", std::to_string(args.cr_fd), "--clobber", "-q"};
  if (args.cr_signal == SIGKILL) {
    argv.push_back("--kill");
  } else if (args.cr_signal == SIGTERM) {
    argv.push_back("--term");
  } else if (args.cr_signal == SIGSTOP) {
    argv.push_back("--stop");
  }
  if (args.cr_timeout != 0) {
    argv.push_back("--time");
    argv.push_back(std::to_string(args.cr_timeout));
  }
  std::vector<char*> raw;
  for (auto& a : argv) {
    raw.push_back(a.data());
  }
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, args.cr_fd, args.cr_fd);  // keeps it across exec
  pid_t pid = 0;
  int rc = posix_spawn(&pid, tool.c_str(), &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    why = "cannot start " + tool;
    return -1;
  }
  return pid;
}

int poll_scope_checkpoint(pid_t command, int timeout_ms) {
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status = 0;
    pid_t got = waitpid(command, &status, WNOHANG);
    if (got == command) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 1;
      }
      errno = CR_ETEMPFAIL;
      return -1;
    }
    if (got < 0 && errno != EINTR) {
      return -1;  // ECHILD: a restored copy of the requester; the command belonged to the original
    }
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (timeout_ms >= 0 && elapsed >= timeout_ms) {
      return 0;
    }
    timespec pause{0, 5 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace crcore::runtime
