// cr_restart --restore-pid (see pid_restore.h).
#include "restart/pid_restore.h"

#include "restart/pid_namespace.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace crcore::restart {
namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGTSTP};
pid_t g_forward_to = 0;

void forward(int sig) { kill(g_forward_to, sig); }

// Forwards the usual job-control and termination signals to `child`.
void forward_signals_to(pid_t child) {
  g_forward_to = child;
  struct sigaction sa {};
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) {
    sigaction(sig, &sa, nullptr);
    sigaddset(&set, sig);
  }
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

// A restart that fails inside the new PID namespace runs --run-on-failure there, before it exits:
// cr_restart outside cannot, since a PID namespace whose pid 1 has ended takes no new process.
void run_on_failure_inside(const RestartOptions& options) {
  if (!options.run_on_failure.empty() && std::system(options.run_on_failure.c_str()) != 0) {
    fprintf(stderr, "cr_restart: --run-on-failure command failed\n");
  }
}

// Waits for child and ends this process the way the child ended.
[[noreturn]] void end_like(pid_t child, bool reap_others) {
  int status = 0;
  for (;;) {
    pid_t done = waitpid(reap_others ? -1 : child, &status, 0);
    if (done < 0 && errno == EINTR) {
      continue;
    }
    if (done < 0) {
      fprintf(stderr, "cr_restart: lost the restored process: %s\n", strerror(errno));
      _exit(127);
    }
    if (done == child) {
      break;
    }
  }
  if (WIFEXITED(status)) {
    _exit(WEXITSTATUS(status));
  }
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);
}

// fork() into `pid`: 0 in the child, the child's pid in the parent, -1 with errno.
long fork_with_pid(pid_t pid) {
  pid_t wanted = pid;
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uint64_t>(&wanted);
  args.set_tid_size = 1;
  return syscall(SYS_clone3, &args, sizeof args);
}

bool id_free(pid_t id) { return kill(id, 0) != 0 && errno == ESRCH; }

void write_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
    }
    throw RestartError("--restore-pid: cannot write " + path + ": " + strerror(e));
  }
  close(fd);
}

// Enters new user (when unprivileged), PID and mount namespaces; the next child is pid 1.
void enter_namespaces() {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  bool privileged = uid == 0;
  int flags = CLONE_NEWPID | CLONE_NEWNS | (privileged ? 0 : CLONE_NEWUSER);
  if (unshare(flags) != 0) {
    throw RestartError(std::string("--restore-pid: cannot create a PID namespace for the original pid: ") +
                       strerror(errno));
  }
  if (!privileged) {
    // The same user inside as outside, and nothing more: no privilege is gained outside.
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1");
    write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
  }
}

// pid 1 of the new namespace.
[[noreturn]] void run_init(const image::Image& img, const RestartOptions& options) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    fprintf(stderr, "cr_restart: --restore-pid: cannot mount a /proc for the new PID namespace: %s\n", strerror(errno));
    run_on_failure_inside(options);
    _exit(127);
  }
  fflush(nullptr);
  long child = img.process.pid == 1 ? 0 : fork_with_pid(img.process.pid);
  if (child == 0) {
    try {
      restore(img, options);
    } catch (const std::exception& e) {
      fprintf(stderr, "cr_restart: %s\n", e.what());
      run_on_failure_inside(options);
      _exit(1);
    }
  }
  if (child < 0) {
    fprintf(stderr, "cr_restart: --restore-pid: cannot create pid %d in the new namespace: %s\n", img.process.pid,
            strerror(errno));
    run_on_failure_inside(options);
    _exit(127);
  }
  forward_signals_to(static_cast<pid_t>(child));
  end_like(static_cast<pid_t>(child), true);
}

}  // namespace

long fork_into_pid(pid_t pid) { return fork_with_pid(pid); }
void enter_pid_namespace() { enter_namespaces(); }
void forward_signals(pid_t child) { forward_signals_to(child); }
void end_like_child(pid_t child, bool reap_others) { end_like(child, reap_others); }

void restore_with_original_pid(const image::Image& img, RestartOptions options) {
  options.restore_tids = true;
  pid_t pid = img.process.pid;
  bool all_free = id_free(pid);
  for (const auto& t : img.threads) {
    all_free = all_free && (t.tid == pid || id_free(t.tid));
  }
  if (all_free) {
    fflush(nullptr);
    long child = fork_with_pid(pid);
    if (child == 0) {
      restore(img, options);
    }
    if (child > 0) {
      forward_signals_to(static_cast<pid_t>(child));
      end_like(static_cast<pid_t>(child), false);
    }
    if (errno != EPERM && errno != EEXIST) {
      throw RestartError(std::string("--restore-pid: cannot create pid ") + std::to_string(pid) + ": " +
                         strerror(errno));
    }
    // Not privileged here, or taken meanwhile: a namespace of our own.
  }
  enter_namespaces();
  fflush(nullptr);
  pid_t init = fork();
  if (init < 0) {
    throw RestartError(std::string("--restore-pid: fork: ") + strerror(errno));
  }
  if (init == 0) {
    run_init(img, options);
  }
  forward_signals_to(init);
  end_like(init, false);
}

}  // namespace crcore::restart
