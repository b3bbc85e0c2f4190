// cr_checkpoint: checkpoints a process running under crcore (BLCR's command and flags).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "control/control_client.h"
#include "control/kmod_client.h"
#include "image/format.h"
#include "tools/scope_checkpoint.h"

namespace {

using crcore::control::After;

struct Options {
  int pid = 0;
  std::string file;
  std::string dir;
  bool term = false, kill = false, stop = false, cont = false, abort = false;
  bool tree = false, pgid = false, sid = false;
  double time = 0;
  bool clobber = false;
  bool quiet = false;
  bool compress = false;
  int compress_level = 1;
  bool no_cow = false;
  bool incremental = false;
  std::string unsupported_fds = "fail";
  std::string backend = "auto";
};

int fail(const std::string& message) {
  fprintf(stderr, "cr_checkpoint: %s\n", message.c_str());
  return 1;
}

uid_t owner_of(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      return static_cast<uid_t>(std::stoul(line.substr(4)));
    }
  }
  return static_cast<uid_t>(-1);
}

void sync_directory(const std::string& path) {
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

// Fault injection for tests/e2e/reliability.sh: CRCORE_FAULT=requester-STEP kills this command
// (SIGKILL) at STEP, as an operator's kill -9 or a node failure would. Unset: one getenv per run.
void fault_point(const char* step) {
  static const char* armed = getenv("CRCORE_FAULT");
  if (armed != nullptr && strncmp(armed, "requester-", 10) == 0 && strcmp(armed + 10, step) == 0) {
    kill(getpid(), SIGKILL);
  }
}

std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return "localhost";
  }
  for (char* p = host; *p != '\0'; ++p) {
    if (*p == '/') {
      *p = '_';
    }
  }
  return host;
}

// Temporary images are named PATH.tmp.HOST.PID.RANDOM. A requester killed between creating its
// temporary file and handing it to the process (the only moment nobody else knows of it) leaves
// it behind; the next checkpoint to the same name removes it when it was made on this host by a
// process that no longer exists. A live requester's file is never touched.
void remove_stale_temporaries(const std::string& path, const std::string& host) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp." + host + ".";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0) {
      continue;
    }
    std::string rest = name.substr(prefix.size());  // PID.RANDOM
    auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || rest.find_first_not_of("0123456789.") != std::string::npos) {
      continue;
    }
    long owner = std::strtol(rest.substr(0, dot).c_str(), nullptr, 10);
    if (owner > 0 && kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH) {
      unlinkat(dirfd(d), e->d_name, 0);
    }
  }
  closedir(d);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Checkpoint a process running under crcore (started with cr_run, or linked with -lcr)."};
  app.add_option("pid", o.pid, "the process to checkpoint");
  app.add_option("-p,--pid", o.pid, "the process to checkpoint");
  app.add_option("-f,--file", o.file, "write the image to FILE (default: DIR/context.PID)");
  app.add_option("-d,--dir", o.dir, "write the image into DIR as context.PID (default: the current directory)");
  app.add_flag("--term", o.term, "send SIGTERM to the process once the image is written");
  app.add_flag("--kill", o.kill, "kill the process once the image is written (it never runs past the checkpoint)");
  app.add_flag("--stop", o.stop, "send SIGSTOP to the process once the image is written");
  app.add_flag("--cont", o.cont, "let the process continue (the default)");
  app.add_flag("--abort", o.abort, "with --time: treat the time limit as a failure (the default behaviour)");
  app.add_flag("-T,--tree", o.tree, "checkpoint the process and its descendants");
  app.add_flag("-g,--pgid", o.pgid, "checkpoint a process group");
  app.add_flag("-s,--sid", o.sid, "checkpoint a session");
  app.add_option("--time", o.time, "give up after SECONDS (the process continues)")->check(CLI::NonNegativeNumber);
  app.add_flag("--clobber", o.clobber, "replace an existing image file");
  app.add_flag("--compress", o.compress,
               "compress the memory with zstd, on as many threads as the process may use CPUs (at most 8; "
               "CRCORE_COMPRESS_THREADS in the process's environment overrides)");
  app.add_option("--compress-level", o.compress_level, "zstd level for --compress (default 1; implies --compress)")
      ->check(CLI::Range(1, 19));
  app.add_flag("--no-cow", o.no_cow,
               "keep the process stopped while its image is written (default: it runs on while a "
               "copy-on-write child writes; --kill always writes with the process stopped)");
  app.add_flag("--incremental", o.incremental,
               "write only the pages changed since the process's last checkpoint; the image names that one "
               "as its parent, and cr_restart finds it in the same directory (the first checkpoint, and the "
               "first after a restart, are full images)");
  app.add_option("--unsupported-fds", o.unsupported_fds,
                 "a descriptor crcore cannot restore (a socket to elsewhere, an eventfd...): 'fail' the "
                 "checkpoint (default) or 'close' it: the restarted process finds /dev/null there")
      ->check(CLI::IsMember({"fail", "close"}));
  app.add_option("--backend", o.backend,
                 "'user': the runtime stops the threads itself (signals); 'kmod': the crcore kernel module "
                 "(/dev/crcore) triggers phase 1 and phase 2; 'auto' (default): kmod when /dev/crcore exists and "
                 "the process registered with it, else user. The image is the same.")
      ->check(CLI::IsMember({"auto", "user", "kmod"}));
  app.add_flag("-q,--quiet", o.quiet, "print nothing on success");
  int index_fd = -1;
  app.add_option("--index-fd", index_fd, "(libcr) write a scope's index into this inherited descriptor")->group("");
  CLI11_PARSE(app, argc, argv);

  if (int(o.tree) + int(o.pgid) + int(o.sid) > 1) {
    return fail("--tree, --pgid and --sid exclude each other");
  }
  if (o.pid <= 0) {
    return fail("which process? give its pid (cr_checkpoint PID)");
  }
  if (int(o.term) + int(o.kill) + int(o.stop) + int(o.cont) > 1) {
    return fail("--term, --kill, --stop and --cont exclude each other");
  }
  if (o.incremental && (o.tree || o.pgid || o.sid)) {
    return fail("--incremental works on one process only, not with --tree, --pgid or --sid");
  }
  if (o.tree || o.pgid || o.sid) {
    // A scope: one image per process beside an index at PATH (docs/image-format.md, "Scope index").
    crcore::tools::ScopeCheckpointOptions scope;
    scope.kind = o.tree   ? crcore::image::ScopeKind::Tree
                 : o.pgid ? crcore::image::ScopeKind::Pgid
                          : crcore::image::ScopeKind::Sid;
    scope.id = o.pid;
    scope.path =
        !o.file.empty() ? o.file : (o.dir.empty() ? std::string(".") : o.dir) + "/context." + std::to_string(o.pid);
    scope.index_fd = index_fd;
    struct stat existing;
    if (index_fd < 0 && !o.clobber && lstat(scope.path.c_str(), &existing) == 0) {
      return fail(scope.path + " exists (use --clobber to replace it)");
    }
    scope.after = o.kill ? After::Kill : o.term ? After::Term : o.stop ? After::Stop : After::Continue;
    scope.time = o.time;
    scope.compress = o.compress;
    scope.close_unsupported = o.unsupported_fds == "close";
    scope.no_cow = o.no_cow;
    scope.quiet = o.quiet;
    return crcore::tools::checkpoint_scope(scope);
  }
  if (kill(o.pid, 0) != 0 && errno == ESRCH) {
    return fail("no process " + std::to_string(o.pid));
  }
  uid_t owner = owner_of(o.pid);
  if (geteuid() != 0 && owner != geteuid()) {
    return fail("process " + std::to_string(o.pid) +
                " belongs to another user: only its owner or root may checkpoint it");
  }
  std::string path =
      !o.file.empty() ? o.file : (o.dir.empty() ? std::string(".") : o.dir) + "/context." + std::to_string(o.pid);
  struct stat st;
  if (!o.clobber && lstat(path.c_str(), &st) == 0) {
    return fail(path + " exists (use --clobber to replace it)");
  }

  // The backend: the kernel module when asked for (or, by default, when it is there), else the
  // control socket of the target's runtime.
  crcore::control::Connection connection;
  crcore::control::KmodRequester kmod;
  bool use_kmod = o.backend == "kmod" || (o.backend == "auto" && crcore::control::kmod_device_present());
  if (use_kmod) {
    if (std::string err = kmod.open_device(); !err.empty()) {
      if (o.backend == "kmod") {
        return fail(err);
      }
      use_kmod = false;
    }
  }
  if (!use_kmod) {
    if (std::string err = connection.connect_to(o.pid); !err.empty()) {
      return fail(err);
    }
  }
  // The image is written under a temporary name and renamed once complete and flushed.
  std::random_device rd;
  std::string host = host_name();
  remove_stale_temporaries(path, host);
  std::string temp = path + ".tmp." + host + "." + std::to_string(getpid()) + "." + std::to_string(rd() % 100000);
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail("cannot create " + temp + ": " + strerror(errno));
  }
  fault_point("after-create");
  After after = o.kill ? After::Kill : o.term ? After::Term : o.stop ? After::Stop : After::Continue;
  auto request = crcore::control::make_request(after, static_cast<uint32_t>(o.time * 1000), o.compress,
                                               o.unsupported_fds == "close", o.no_cow);
  request.flags |= crcore::control::kRequestTemporaryName;
  if (o.compress_level != 1) {
    request.flags |= crcore::control::kRequestCompress;
    request.compress_level = o.compress_level;
  }
  if (o.incremental) {
    request.flags |= crcore::control::kRequestIncremental;
  }
  std::string err;
  if (use_kmod) {
    bool not_registered = false;
    err = kmod.send_request(o.pid, request, fd, &not_registered);
    if (!err.empty() && not_registered && o.backend == "auto") {
      use_kmod = false;  // a process started before the module was loaded: the user backend
      err = connection.connect_to(o.pid);
    }
  }
  if (!use_kmod && err.empty()) {
    err = connection.send_request(request, fd);
  }
  close(fd);
  fault_point("after-request");
  crcore::control::Response response{};
  int wait_ms = o.time > 0 ? static_cast<int>(o.time * 1000) + 2000 : 0;
  if (err.empty()) {
    err = use_kmod ? kmod.wait_response(response, wait_ms) : connection.wait_response(response, wait_ms);
  }
  if (err.empty() && response.status != 0) {
    err = std::string(crcore::control::status_name(static_cast<crcore::control::Status>(response.status))) +
          (response.message[0] != '\0' ? std::string(": ") + response.message : std::string());
  }
  if (!err.empty()) {
    unlink(temp.c_str());
    return fail("checkpoint of process " + std::to_string(o.pid) + " failed: " + err);
  }
  fault_point("after-response");
  bool renamed = rename(temp.c_str(), path.c_str()) == 0;
  int rename_errno = errno;
  if (renamed) {
    sync_directory(path);
  }
  fault_point("after-rename");
  if (use_kmod) {
    kmod.send_commit(renamed);
  } else {
    connection.send_commit(renamed);
  }
  if (!renamed) {
    unlink(temp.c_str());
    return fail("cannot rename the image to " + path + ": " + strerror(rename_errno));
  }
  if (!o.quiet) {
    // Full or incremental: the file header says (the runtime writes a full image when it has no parent).
    std::string kind = "full";
    if (std::ifstream in(path, std::ios::binary); in) {
      crcore::image::FileHeader header{};
      if (in.read(reinterpret_cast<char*>(&header), sizeof header) &&
          (header.flags & crcore::image::kFileIncremental) != 0) {
        kind = "incremental";
      }
    }
    printf("%s: %s, %u threads, %u regions, %.1f MiB image (%.1f MiB of memory), paused %.1f ms, total %.1f ms\n",
           path.c_str(), kind.c_str(), response.threads, response.regions,
           static_cast<double>(response.image_bytes) / 1048576.0, static_cast<double>(response.page_bytes) / 1048576.0,
           static_cast<double>(response.pause_ns) / 1e6, static_cast<double>(response.total_ns) / 1e6);
  }
  if (after == After::Kill) {
    // The process kills itself once it knows the image is in place; wait until it is gone.
    bool gone = false;
    for (int i = 0; i < 3000 && !gone; ++i) {
      std::ifstream stat("/proc/" + std::to_string(o.pid) + "/stat");
      std::string s;
      std::getline(stat, s);
      auto close_paren = s.rfind(')');
      gone = s.empty() || (close_paren != std::string::npos && close_paren + 2 < s.size() && s[close_paren + 2] == 'Z');
      if (!gone) {
        usleep(10000);
      }
    }
    if (!gone) {
      return fail("the image " + path + " is complete, but process " + std::to_string(o.pid) +
                  " is still running 30 s later (--kill)");
    }
  }

  return 0;
}
