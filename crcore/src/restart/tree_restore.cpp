// Restarting a whole scope (see tree_restore.h).
#include "restart/tree_restore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "image/image_reader.h"
#include "image/scope_index.h"
#include "restart/pid_namespace.h"
#include "restart/scope_fds.h"
#include "restart/sysv_ipc_restore.h"

namespace crcore::restart {
namespace {

// One process of the scope, live or zombie.
struct Node {
  size_t slot = 0;  // its index in the index's entries: where its new pid is published
  const image::ScopeEntry* entry = nullptr;
  const image::Image* image = nullptr;  // nullptr for a zombie
  std::string image_path;
  Node* parent = nullptr;  // nullptr: its parent is outside the scope (cr_restart stands in)
  std::vector<Node*> children;
  // How it takes its session and group once forked.
  bool new_session = false;
  bool own_group = false;
  Node* group_leader = nullptr;  // join this process's group
};

struct Plan {
  image::ScopeIndex index;
  std::vector<image::Image> images;  // one per live entry
  std::map<pid_t, Node> nodes;
  std::vector<Node*> roots;
  Node* main = nullptr;  // whose exit status cr_restart takes
};

// Shared by every process of the tree while it is being built: the new pid of each entry.
pid_t* g_new_pids = nullptr;

std::string name(const Node& n) { return "process " + std::to_string(n.entry->pid); }

Plan load_plan(const std::string& index_path) {
  Plan plan;
  plan.index = image::read_scope_index(index_path);
  plan.images.reserve(plan.index.entries.size());
  for (size_t i = 0; i < plan.index.entries.size(); ++i) {
    const image::ScopeEntry& e = plan.index.entries[i];
    Node n;
    n.slot = i;
    n.entry = &e;
    if (!e.zombie) {
      n.image_path = image::scope_image_path(index_path, e);
      plan.images.push_back(image::ImageReader(n.image_path).load());
      const image::Image& img = plan.images.back();
      if (img.process.pid != e.pid) {
        throw RestartError(n.image_path + " is the image of process " + std::to_string(img.process.pid) +
                           ", but the index lists it for process " + std::to_string(e.pid));
      }
      if ((img.header.flags & image::kFileScopeMember) == 0) {
        throw RestartError(n.image_path + " is not part of a scope checkpoint");
      }
      n.image = &img;
    }
    plan.nodes.emplace(e.pid, n);
  }
  for (auto& e : plan.index.entries) {
    Node& n = plan.nodes.at(e.pid);
    auto parent = plan.nodes.find(e.ppid);
    if (parent != plan.nodes.end() && !parent->second.entry->zombie) {
      n.parent = &parent->second;
      n.parent->children.push_back(&n);
    } else {
      plan.roots.push_back(&n);
    }
  }
  plan.main = plan.nodes.count(plan.index.id) != 0 && plan.nodes.at(plan.index.id).parent == nullptr
                  ? &plan.nodes.at(plan.index.id)
                  : plan.roots.front();
  return plan;
}

// Decides how each process gets its session and group, in the order they will be created (depth
// first, parents first, a group's leader before the siblings that join it).
void plan_identities(Plan& plan) {
  std::set<pid_t> leaders;  // groups someone else joins
  for (const auto& [pid, n] : plan.nodes) {
    if (n.entry->pgid != pid) {
      leaders.insert(n.entry->pgid);
    }
  }
  auto order = [&](std::vector<Node*>& v) {
    std::stable_sort(v.begin(), v.end(), [&](const Node* a, const Node* b) {
      return leaders.count(a->entry->pid) > leaders.count(b->entry->pid);
    });
  };
  order(plan.roots);
  std::set<pid_t> created;
  std::function<void(Node&)> visit = [&](Node& n) {
    const image::ScopeEntry& e = *n.entry;
    pid_t inherited_sid = n.parent != nullptr ? n.parent->entry->sid : 0;
    pid_t inherited_pgid = n.parent != nullptr ? n.parent->entry->pgid : 0;
    if (e.sid == e.pid) {
      n.new_session = true;
    } else if (n.parent != nullptr ? e.sid != inherited_sid : plan.nodes.count(e.sid) != 0) {
      throw RestartError(name(n) + "'s session " + std::to_string(e.sid) +
                         " cannot be recreated: it is neither its own nor inherited from its parent");
    }
    if (e.pgid == e.pid) {
      n.own_group = !n.new_session;  // setsid() already makes it a group leader
    } else if (n.parent != nullptr ? e.pgid != inherited_pgid : plan.nodes.count(e.pgid) != 0) {
      auto leader = plan.nodes.find(e.pgid);
      if (leader == plan.nodes.end() || created.count(e.pgid) == 0 || leader->second.entry->sid != e.sid) {
        throw RestartError(name(n) + "'s process group " + std::to_string(e.pgid) +
                           " cannot be recreated: its leader is not a process of the scope created before it");
      }
      n.group_leader = &leader->second;
    }
    created.insert(e.pid);
    order(n.children);
    for (Node* c : n.children) {
      visit(*c);
    }
  };
  for (Node* r : plan.roots) {
    visit(*r);
  }
}

// Ends this (zombie-to-be) process the way the checkpointed one ended.
[[noreturn]] void die_like(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    rlimit none{0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    kill(getpid(), sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 0);
}

struct Context {
  RestartOptions options;
  bool restore_pids = false;
};

pid_t spawn(Node& n, const Context& ctx);

// In the new process for n: session, group, children, then its own image.
[[noreturn]] void become(Node& n, const Context& ctx, int ready_fd) {
  auto fail = [&](const std::string& why) {
    fprintf(stderr, "cr_restart: %s: %s\n", name(n).c_str(), why.c_str());
    char no = 'E';
    (void)!write(ready_fd, &no, 1);
    _exit(127);
  };
  g_new_pids[n.slot] = getpid();
  if (n.new_session && setsid() < 0) {
    fail(std::string("setsid: ") + strerror(errno));
  }
  if (n.own_group && setpgid(0, 0) != 0) {
    fail(std::string("setpgid: ") + strerror(errno));
  }
  if (n.group_leader != nullptr && setpgid(0, g_new_pids[n.group_leader->slot]) != 0) {
    fail("cannot join process group " + std::to_string(n.entry->pgid) + ": " + strerror(errno));
  }
  if (n.entry->zombie) {
    char yes = 'R';
    (void)!write(ready_fd, &yes, 1);
    close(ready_fd);
    die_like(n.entry->exit_status);
  }
  try {
    for (Node* c : n.children) {
      pid_t child = spawn(*c, ctx);
      if (c->entry->zombie) {
        siginfo_t info;
        while (waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
        }
      }
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  RestartOptions options = ctx.options;
  options.image_path = n.image_path;
  options.run_on_success.clear();
  char yes = 'R';
  (void)!write(ready_fd, &yes, 1);
  close(ready_fd);
  try {
    restore(*n.image, options);
  } catch (const std::exception& e) {
    fprintf(stderr, "cr_restart: %s: %s\n", name(n).c_str(), e.what());
    _exit(127);
  }
}

// Forks n (with its original pid when asked) and waits until it and everything below it is ready.
pid_t spawn(Node& n, const Context& ctx) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    throw RestartError(std::string("pipe: ") + strerror(errno));
  }
  fflush(nullptr);
  long child = ctx.restore_pids ? fork_into_pid(n.entry->pid) : fork();
  if (child == 0) {
    close(p[0]);
    become(n, ctx, p[1]);
  }
  close(p[1]);
  if (child < 0) {
    int e = errno;
    close(p[0]);
    throw RestartError("cannot create " + name(n) + (ctx.restore_pids ? " with its pid" : "") + ": " + strerror(e));
  }
  g_new_pids[n.slot] = static_cast<pid_t>(child);
  char answer = 0;
  ssize_t got;
  do {
    got = read(p[0], &answer, 1);
  } while (got < 0 && errno == EINTR);
  close(p[0]);
  if (got != 1 || answer != 'R') {
    throw RestartError("could not recreate " + name(n) + " (see above)");
  }
  return static_cast<pid_t>(child);
}

void kill_created(const Plan& plan) {
  for (size_t i = 0; i < plan.index.entries.size(); ++i) {
    if (g_new_pids[i] > 0) {
      kill(g_new_pids[i], SIGKILL);
    }
  }
}

// Builds the tree under this process; returns the main process's new pid.
pid_t build(Plan& plan, const Context& ctx, ScopeFds& fds) {
  try {
    for (Node* r : plan.roots) {
      spawn(*r, ctx);
    }
  } catch (...) {
    kill_created(plan);
    throw;
  }
  close_scope_fds(fds);
  if (!ctx.options.run_on_success.empty() && std::system(ctx.options.run_on_success.c_str()) != 0) {
    fprintf(stderr, "cr_restart: the --run-on-success command failed\n");
  }
  return g_new_pids[plan.main->slot];
}

}  // namespace

void restore_scope(const std::string& index_path, RestartOptions options, bool restore_pids) {
  Plan plan = load_plan(index_path);
  plan_identities(plan);
  for (const auto& e : plan.index.entries) {
    if (restore_pids && e.pid == 1) {
      throw RestartError("process 1 is part of the scope: its pid cannot be restored (use --no-restore-pid)");
    }
  }
  std::vector<const image::Image*> images;
  for (const auto& img : plan.images) {
    images.push_back(&img);
  }
  ScopeFds fds = create_scope_fds(images);
  restore_sysv_objects(images);  // SysV semaphores and queues, once, before any process runs
  size_t table_bytes = std::max<size_t>(plan.index.entries.size() * sizeof(pid_t), 1);
  void* table = mmap(nullptr, table_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (table == MAP_FAILED) {
    throw RestartError(std::string("mmap: ") + strerror(errno));
  }
  g_new_pids = static_cast<pid_t*>(table);
  Context ctx{options, restore_pids};
  ctx.options.scope_fds = &fds;
  ctx.options.restore_tids = restore_pids;
  if (!restore_pids) {
    pid_t main = build(plan, ctx, fds);
    forward_signals(main);
    end_like_child(main, true);
  }
  // Original pids: a PID namespace of our own, whose pid 1 builds the tree and reaps orphans.
  enter_pid_namespace();
  fflush(nullptr);
  pid_t init = fork();
  if (init < 0) {
    throw RestartError(std::string("--restore-pid: fork: ") + strerror(errno));
  }
  if (init == 0) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      fprintf(stderr, "cr_restart: cannot mount a /proc for the new PID namespace: %s\n", strerror(errno));
      _exit(127);
    }
    pid_t main = 0;
    try {
      main = build(plan, ctx, fds);
    } catch (const std::exception& e) {
      fprintf(stderr, "cr_restart: %s\n", e.what());
      _exit(127);
    }
    forward_signals(main);
    end_like_child(main, true);
  }
  close_scope_fds(fds);
  forward_signals(init);
  end_like_child(init, false);
}

}  // namespace crcore::restart
