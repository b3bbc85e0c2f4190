// /proc readers and small process helpers of the MPI front ends (see proc_info.h).
#include "proc/proc_info.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

namespace crcore::mpi {

std::vector<std::string> proc_strings(int pid, const char* file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file, std::ios::binary);
  std::vector<std::string> out;
  std::string item;
  while (std::getline(in, item, '\0')) {
    out.push_back(item);
  }
  return out;
}

std::optional<std::string> proc_env(int pid, const std::string& name) {
  std::string prefix = name + "=";
  for (const std::string& entry : proc_strings(pid, "environ")) {
    if (entry.compare(0, prefix.size(), prefix) == 0) {
      return entry.substr(prefix.size());
    }
  }
  return std::nullopt;
}

namespace {

// (state, ppid) of /proc/PID/stat; state 0 if unreadable.
std::pair<char, int> stat_fields(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 4 > line.size()) {
    return {0, 0};
  }
  std::istringstream rest(line.substr(paren + 2));
  char state = 0;
  int ppid = 0;
  rest >> state >> ppid;
  return {state, ppid};
}

}  // namespace

std::vector<int> descendants(int pid) {
  std::multimap<int, int> children;  // ppid -> pid
  if (DIR* dir = opendir("/proc")) {
    while (dirent* entry = readdir(dir)) {
      char* end = nullptr;
      long value = std::strtol(entry->d_name, &end, 10);
      if (end != entry->d_name && *end == '\0' && value > 0) {
        auto [state, ppid] = stat_fields(static_cast<int>(value));
        if (state != 0) {
          children.emplace(ppid, static_cast<int>(value));
        }
      }
    }
    closedir(dir);
  }
  std::vector<int> out;
  std::vector<int> queue{pid};
  for (size_t i = 0; i < queue.size(); ++i) {
    auto [first, last] = children.equal_range(queue[i]);
    for (auto it = first; it != last; ++it) {
      out.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return out;
}

bool process_alive(int pid) {
  char state = stat_fields(pid).first;
  return state != 0 && state != 'Z' && state != 'X';
}

std::string proc_link(int pid, const char* link) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/" + link, ec);
  return ec ? std::string() : target.string();
}

std::string mapped_library(int pid, const std::string& prefix) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos) {
      continue;
    }
    std::string path = line.substr(slash);
    std::string name = path.substr(path.rfind('/') + 1);
    if (name.compare(0, prefix.size(), prefix) == 0) {
      return path;
    }
  }
  return "";
}

std::string self_dir() {
  std::error_code ec;
  auto exe = std::filesystem::canonical("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::string beside_self(const std::string& relative) {
  std::error_code ec;
  auto path = std::filesystem::weakly_canonical(std::filesystem::path(self_dir()) / relative, ec);
  if (ec || !std::filesystem::exists(path, ec)) {
    return "";
  }
  return path.string();
}

std::optional<std::string> capture_output(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t child = 0;
  int err = posix_spawnp(&child, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (err != 0) {
    close(pipe_fds[0]);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace crcore::mpi
