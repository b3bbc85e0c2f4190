// The process table (see process_table.h).
#include "tools/process_table.h"

#include <dirent.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace crcore::tools {
namespace {

bool read_stat(pid_t pid, ProcessInfo& p) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) {
    return false;
  }
  auto open = s.find('(');
  auto close = s.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= s.size()) {
    return false;
  }
  p.pid = pid;
  p.comm = s.substr(open + 1, close - open - 1);
  std::istringstream rest(s.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string w; rest >> w;) {
    f.push_back(w);
  }
  if (f.size() < 50) {
    return false;
  }
  p.state = f[0][0];
  p.ppid = std::stoi(f[1]);
  p.pgid = std::stoi(f[2]);
  p.sid = std::stoi(f[3]);
  p.start_time = std::stoull(f[19]);  // field 22
  p.exit_signal = std::stoi(f[35]);   // field 38
  p.exit_code = std::stoi(f[49]);     // field 52
  return true;
}

pid_t last_of(const std::string& line) {
  std::istringstream in(line);
  std::string w;
  pid_t last = 0;
  in >> w;  // the name
  while (in >> w) {
    last = std::stoi(w);
  }
  return last;
}

void read_status(ProcessInfo& p) {
  std::ifstream in("/proc/" + std::to_string(p.pid) + "/status");
  std::string line;
  p.ns_pid = p.pid;
  p.ns_pgid = p.pgid;
  p.ns_sid = p.sid;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      p.uid = static_cast<uid_t>(std::stoul(line.substr(4)));
    } else if (line.rfind("NSpid:", 0) == 0) {
      p.ns_pid = last_of(line);
    } else if (line.rfind("NSpgid:", 0) == 0) {
      p.ns_pgid = last_of(line);
    } else if (line.rfind("NSsid:", 0) == 0) {
      p.ns_sid = last_of(line);
    }
  }
}

}  // namespace

bool read_process(pid_t pid, ProcessInfo& out) {
  try {
    if (read_stat(pid, out)) {
      read_status(out);
      return true;
    }
  } catch (const std::exception&) {
  }
  return false;
}

std::map<pid_t, ProcessInfo> read_process_table() {
  std::map<pid_t, ProcessInfo> table;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) {
    return table;
  }
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    ProcessInfo p;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    try {
      if (read_stat(pid, p)) {
        read_status(p);
        table[pid] = p;
      }
    } catch (const std::exception&) {
      // It exited while we read it.
    }
  }
  closedir(dir);
  return table;
}

std::vector<ProcessInfo> scope_members(const std::map<pid_t, ProcessInfo>& table, image::ScopeKind kind, pid_t id) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, p] : table) {
    children.emplace(p.ppid, pid);
  }
  std::set<pid_t> in;
  for (const auto& [pid, p] : table) {
    if (p.exit_signal == 0 && p.pid != id) {
      continue;  // a raw clone without exit signal: an image writer, not a process of the program
    }
    if ((kind == image::ScopeKind::Pgid && p.pgid == id) || (kind == image::ScopeKind::Sid && p.sid == id)) {
      in.insert(pid);
    }
  }
  if (kind == image::ScopeKind::Tree && table.count(id) != 0) {
    std::function<void(pid_t)> add = [&](pid_t pid) {
      in.insert(pid);
      auto [from, to] = children.equal_range(pid);
      for (auto it = from; it != to; ++it) {
        if (table.at(it->second).exit_signal != 0) {
          add(it->second);
        }
      }
    };
    add(id);
  }
  // Parents before children: a depth-first walk from each member whose parent is not a member.
  std::vector<ProcessInfo> out;
  std::function<void(pid_t)> walk = [&](pid_t pid) {
    out.push_back(table.at(pid));
    auto [from, to] = children.equal_range(pid);
    for (auto it = from; it != to; ++it) {
      if (in.count(it->second) != 0) {
        walk(it->second);
      }
    }
  };
  for (pid_t pid : in) {
    if (in.count(table.at(pid).ppid) == 0) {
      walk(pid);
    }
  }
  return out;
}

}  // namespace crcore::tools
