// cr_checkpoint --tree/--pgid/--sid (see scope_checkpoint.h).
#include "tools/scope_checkpoint.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "control/control_client.h"
#include "image/image_reader.h"
#include "tools/process_table.h"

namespace crcore::tools {
namespace {

constexpr int kMaxRounds = 5;    // rounds abandoned (a process vanished at the wrong moment) before giving up
constexpr int kMaxPasses = 200;  // scans for processes forked while the scope is being stopped

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One live process of the scope and its side of the exchange.
struct Member {
  ProcessInfo info;
  control::Connection connection;
  std::string temp;   // the image being written
  std::string final;  // its name once the scope is complete
  bool stopped = false, captured = false, responded = false, renamed = false;
  bool dropped = false;
  bool unanswered = false;  // exited after its capture, before its answer  // its connection broke before it stopped
                            // (it exec'd or exited)
  control::Response response{};
};

enum class Message { Barrier, Response, Lost, Timeout };

uint64_t now_ms() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000 + static_cast<uint64_t>(t.tv_nsec) / 1000000;
}

std::string who(const ProcessInfo& p) { return "process " + std::to_string(p.pid) + " (" + p.comm + ")"; }

class Round {
 public:
  Round(const ScopeCheckpointOptions& o, uint64_t deadline) : o_(o), deadline_(deadline) {}
  ~Round() { cleanup(); }

  // true: done; false: the scope changed, try again. Throws Failure.
  bool run();

 private:
  int timeout_left() const {
    if (deadline_ == 0) {
      return -1;
    }
    uint64_t now = now_ms();
    if (now >= deadline_) {
      throw Failure("the checkpoint of the scope did not complete within --time");
    }
    return static_cast<int>(deadline_ - now);
  }

  Message receive(Member& m, control::Barrier& barrier) {
    pollfd p{m.connection.fd(), POLLIN, 0};
    int ready;
    do {
      ready = poll(&p, 1, timeout_left());
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      return Message::Timeout;
    }
    alignas(8) char buf[sizeof(control::Response) + 16];
    ssize_t n = recv(m.connection.fd(), buf, sizeof buf, 0);
    if (n == static_cast<ssize_t>(sizeof(control::Barrier))) {
      memcpy(&barrier, buf, sizeof barrier);
      if (barrier.magic == control::kBarrierMagic) {
        return Message::Barrier;
      }
    }
    if (n == static_cast<ssize_t>(sizeof(control::Response))) {
      memcpy(&m.response, buf, sizeof m.response);
      if (m.response.magic == control::kResponseMagic) {
        m.responded = true;
        return Message::Response;
      }
    }
    return Message::Lost;
  }

  void answer(Member& m, uint32_t stage, bool proceed) {
    control::Barrier b{control::kBarrierMagic, control::kControlVersion, stage, proceed ? 1u : 0u};
    send(m.connection.fd(), &b, sizeof b, MSG_NOSIGNAL);
  }

  std::string failure_of(const Member& m) const {
    auto status = static_cast<control::Status>(m.response.status);
    std::string text = "checkpoint of " + who(m.info) + " failed: " + control::status_name(status);
    if (m.response.message[0] != '\0') {
      text += std::string(": ") + m.response.message;
    }
    return text;
  }

  // Every process still stopped at the first barrier continues without writing anything.
  void abandon() {
    for (auto& m : members_) {
      if (m->stopped && !m->responded && !m->dropped) {
        answer(*m, control::kBarrierStopped, false);
      }
    }
    for (auto& m : members_) {
      control::Barrier b{};
      while (m->connection.fd() >= 0 && !m->responded && !m->dropped) {
        Message got = receive(*m, b);
        if (got == Message::Lost || got == Message::Timeout) {
          break;
        }
      }
    }
  }

  void cleanup() {
    for (auto& m : members_) {
      if (!m->temp.empty()) {
        unlink(m->temp.c_str());
      }
      if (m->renamed && !committed_) {
        unlink(m->final.c_str());
      }
    }
    if (!index_temp_.empty()) {
      unlink(index_temp_.c_str());
    }
  }

  void commit_all(bool committed) {
    for (auto& m : members_) {
      if (m->responded && m->response.status == static_cast<uint32_t>(control::Status::Ok)) {
        m->connection.send_commit(committed);
      }
    }
  }

  // Whether the process is still the one we asked (not gone, not a zombie, not another one).
  static bool still_there(const ProcessInfo& p) {
    ProcessInfo now;
    return read_process(p.pid, now) && now.state != 'Z' && now.start_time == p.start_time;
  }

  // Waits until the image of a process that exited after its capture is complete (its writer
  // finishes on its own), then flushes it.
  void await_image(Member& m) {
    for (;;) {
      try {
        image::ImageReader(m.temp).load();
        break;
      } catch (const std::exception& e) {
        if (deadline_ != 0 ? now_ms() >= deadline_ : ++await_polls_ > 3000) {
          throw Failure(who(m.info) + " exited during its checkpoint and its image was not completed: " + e.what());
        }
        usleep(10000);
      }
    }
    int fd = open(m.temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }

  void check_ownership(const std::vector<ProcessInfo>& scope);
  void connect_all(const std::vector<ProcessInfo>& scope);
  void check_peers();
  void write_index(const std::vector<ProcessInfo>& scope);

  const ScopeCheckpointOptions& o_;
  uint64_t deadline_;
  std::vector<std::unique_ptr<Member>> members_;
  std::map<pid_t, image::Image> images_;  // host pid -> its image, loaded back
  std::string index_temp_;
  bool committed_ = false;
  int await_polls_ = 0;
};

void Round::check_ownership(const std::vector<ProcessInfo>& scope) {
  uid_t owner = geteuid();
  if (owner == 0) {
    owner = scope.front().uid;
    for (const auto& p : scope) {
      if (p.pid == o_.id) {
        owner = p.uid;
      }
    }
  }
  for (const auto& p : scope) {
    if (p.uid != owner) {
      throw Failure(who(p) + " belongs to another user (uid " + std::to_string(p.uid) + ", the scope's is " +
                    std::to_string(owner) + "): a scope is checkpointed only when one user owns all of it");
    }
  }
}

void Round::connect_all(const std::vector<ProcessInfo>& scope) {
  std::random_device rd;
  for (const auto& p : scope) {
    if (p.state == 'Z') {
      continue;
    }
    auto m = std::make_unique<Member>();
    m->info = p;
    std::string err;
    // A child forked a moment ago starts its runtime in its atfork handler: give it a little time.
    for (int attempt = 0; attempt < 300; ++attempt) {
      err = m->connection.connect_to(p.pid);
      if (err.empty() || !still_there(p)) {
        break;
      }
      usleep(10000);
    }
    if (!err.empty()) {
      if (!still_there(p)) {
        continue;  // exited (a zombie now, or gone): the next scan sees what became of it
      }
      throw Failure(who(p) + " is not running under crcore (started outside cr_run, or its runtime failed): " + err);
    }
    m->final = o_.path + "." + std::to_string(p.ns_pid);
    m->temp = m->final + ".tmp." + std::to_string(getpid()) + "." + std::to_string(rd() % 100000);
    int fd = open(m->temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::string e = strerror(errno);
      m->temp.clear();
      throw Failure("cannot create " + m->final + ".tmp...: " + e);
    }
    auto request = control::make_request(o_.after, static_cast<uint32_t>(o_.time * 1000), o_.compress,
                                         o_.close_unsupported, o_.no_cow);
    request.flags |= control::kRequestTemporaryName | control::kRequestScope;
    err = m->connection.send_request(request, fd);
    close(fd);
    if (!err.empty()) {
      // It exited or exec'd right after we connected: the next scan finds what became of it.
      m->dropped = true;
      unlink(m->temp.c_str());
      m->temp.clear();
    }
    members_.push_back(std::move(m));
  }
}

// Every socketpair end's peer must be in an image of the scope.
void Round::check_peers() {
  std::set<uint64_t> ends;
  for (const auto& [pid, img] : images_) {
    for (const auto& f : img.fds) {
      if (static_cast<image::FdKind>(f.record.kind) == image::FdKind::UnixPair) {
        ends.insert(f.record.inode);
      }
    }
  }
  for (const auto& m : members_) {
    for (const auto& f : images_.at(m->info.pid).fds) {
      if (static_cast<image::FdKind>(f.record.kind) == image::FdKind::UnixPair &&
          ends.count(f.record.peer_inode) == 0) {
        throw Failure(who(m->info) + ": descriptor " + std::to_string(f.record.fd) +
                      " cannot be checkpointed: " + f.path + " is a socketpair end whose peer (socket:[" +
                      std::to_string(f.record.peer_inode) + "]) is outside the scope");
      }
    }
  }
}

void Round::write_index(const std::vector<ProcessInfo>& scope) {
  image::ScopeIndex index;
  index.kind = o_.kind;
  index.id = o_.id;
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  index.created_ns = static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
  std::map<pid_t, pid_t> inner;  // host pid -> the pid the process sees
  for (const auto& p : scope) {
    inner[p.pid] = p.ns_pid;
  }
  std::map<pid_t, const Member*> by_pid;
  for (const auto& m : members_) {
    by_pid[m->info.pid] = m.get();
  }
  for (const auto& p : scope) {
    image::ScopeEntry e;
    if (p.state == 'Z') {
      if (by_pid.count(p.ppid) == 0) {
        fprintf(stderr, "cr_checkpoint: warning: zombie %d's parent %d is outside the scope: left out\n", p.pid,
                p.ppid);
        continue;
      }
      e.zombie = true;
      e.pid = p.ns_pid;
      e.ppid = inner.at(p.ppid);
      e.pgid = p.ns_pgid;
      e.sid = p.ns_sid;
      e.exit_status = p.exit_code;
    } else {
      const image::Image& img = images_.at(p.pid);
      e.pid = img.process.pid;
      e.ppid = img.process.ppid;
      e.pgid = img.process.pgid;
      e.sid = img.process.sid;
      const std::string& final = by_pid.at(p.pid)->final;
      e.image = final.substr(final.find_last_of('/') == std::string::npos ? 0 : final.find_last_of('/') + 1);
    }
    index.entries.push_back(e);
  }
  std::string text = image::format_scope_index(index);
  if (o_.index_fd >= 0) {
    // libcr's caller owns this file: written in place, no rename.
    if (ftruncate(o_.index_fd, 0) != 0 ||
        pwrite(o_.index_fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
        fsync(o_.index_fd) != 0) {
      throw Failure(std::string("cannot write the scope index: ") + strerror(errno));
    }
    return;
  }
  index_temp_ = o_.path + ".tmp." + std::to_string(getpid());
  int fd = open(index_temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || fsync(fd) != 0) {
    std::string e = strerror(errno);
    if (fd >= 0) {
      close(fd);
    } else {
      index_temp_.clear();
    }
    throw Failure("cannot write the scope index " + o_.path + ": " + e);
  }
  close(fd);
}

bool Round::run() {
  auto table = read_process_table();
  std::vector<ProcessInfo> scope = scope_members(table, o_.kind, o_.id);
  std::erase_if(scope, [](const ProcessInfo& p) { return p.pid == getpid(); });  // libcr's caller's child
  bool any_live = false;
  for (const auto& p : scope) {
    any_live = any_live || p.state != 'Z';
  }
  if (!any_live || (o_.kind == image::ScopeKind::Tree && table.at(o_.id).state == 'Z')) {
    throw Failure(o_.kind == image::ScopeKind::Tree
                      ? "no process " + std::to_string(o_.id)
                      : std::string("no live process in ") +
                            (o_.kind == image::ScopeKind::Pgid ? "process group " : "session ") +
                            std::to_string(o_.id));
  }
  check_ownership(scope);

  // Barrier 1: every process stopped. A process forked meanwhile (by one not yet stopped) is
  // found by the next scan and stopped too; one that exec'd lost its runtime and is asked again
  // once the new one is up; one that exited is left out (its zombie is in the scope). Only when
  // a scan finds no live process that is not stopped is the scope frozen.
  std::vector<ProcessInfo> scope_now = scope;
  std::string failure;
  for (int pass = 0;; ++pass) {
    std::set<std::pair<pid_t, unsigned long long>> stopped;
    for (const auto& m : members_) {
      if (m->stopped && !m->dropped) {
        stopped.emplace(m->info.pid, m->info.start_time);
      }
    }
    std::vector<ProcessInfo> fresh;
    for (const auto& p : scope_now) {
      if (p.state != 'Z' && stopped.count({p.pid, p.start_time}) == 0) {
        fresh.push_back(p);
      }
    }
    if (fresh.empty()) {
      break;
    }
    if (pass == kMaxPasses) {
      abandon();
      throw Failure("the scope kept changing (processes forking or exec'ing): gave up after " +
                    std::to_string(kMaxPasses) + " passes");
    }
    check_ownership(scope_now);
    size_t first_new = members_.size();
    try {
      connect_all(fresh);
    } catch (const Failure&) {
      abandon();
      throw;
    }
    for (size_t i = first_new; i < members_.size(); ++i) {
      Member& m = *members_[i];
      if (m.dropped) {
        continue;
      }
      control::Barrier b{};
      Message got = receive(m, b);
      if (got == Message::Barrier && b.stage == control::kBarrierStopped) {
        m.stopped = true;
      } else if (got == Message::Response) {
        failure = failure.empty() ? failure_of(m) : failure;
      } else if (got == Message::Timeout) {
        abandon();
        throw Failure(who(m.info) + " did not stop within --time");
      } else {
        m.dropped = true;  // it exec'd or exited before it stopped
        unlink(m.temp.c_str());
        m.temp.clear();
      }
    }
    if (!failure.empty()) {
      abandon();
      throw Failure(failure);
    }
    scope_now = scope_members(read_process_table(), o_.kind, o_.id);
    std::erase_if(scope_now, [](const ProcessInfo& p) { return p.pid == getpid(); });
  }
  std::erase_if(members_, [](const std::unique_ptr<Member>& m) { return m->dropped; });
  check_ownership(scope_now);

  // Barrier 2: every process captured (or wrote) its state before any runs on.
  bool vanished = false;
  for (auto& m : members_) {
    answer(*m, control::kBarrierStopped, true);
  }
  for (auto& m : members_) {
    control::Barrier b{};
    Message got = receive(*m, b);
    if (got == Message::Barrier && b.stage == control::kBarrierCaptured) {
      m->captured = true;
    } else if (got == Message::Response) {
      failure = failure.empty() ? failure_of(*m) : failure;
    } else if (!still_there(m->info)) {
      vanished = true;  // killed while stopped: this round is void
    } else {
      failure = failure.empty() ? who(m->info) + " stopped answering during its checkpoint" : failure;
    }
  }
  for (auto& m : members_) {
    if (m->captured) {
      answer(*m, control::kBarrierCaptured, true);
    }
  }
  for (auto& m : members_) {
    control::Barrier b{};
    if (m->captured && !m->responded && receive(*m, b) != Message::Response) {
      if (still_there(m->info)) {
        failure = failure.empty() ? who(m->info) + " did not report on its image" : failure;
      } else {
        // Released after its capture, it exited before answering (a short-lived process): its
        // copy-on-write writer still completes the image, taken at the same instant as the others'.
        m->unanswered = true;
      }
    }
    if (m->responded && m->response.status != static_cast<uint32_t>(control::Status::Ok)) {
      failure = failure.empty() ? failure_of(*m) : failure;
    }
  }
  if (vanished && failure.empty()) {
    commit_all(false);
    return false;
  }
  try {
    if (!failure.empty()) {
      throw Failure(failure);
    }
    for (auto& m : members_) {
      if (m->unanswered) {
        await_image(*m);
      }
      try {
        images_.emplace(m->info.pid, image::ImageReader(m->temp).load());
      } catch (const std::exception& e) {
        throw Failure(std::string("the image of ") + who(m->info) + " does not read back: " + e.what());
      }
    }
    check_peers();
    for (auto& m : members_) {
      if (rename(m->temp.c_str(), m->final.c_str()) != 0) {
        throw Failure("cannot rename an image to " + m->final + ": " + strerror(errno));
      }
      m->renamed = true;
      m->temp.clear();
    }
    write_index(scope_now);
    if (o_.index_fd < 0 && rename(index_temp_.c_str(), o_.path.c_str()) != 0) {
      throw Failure("cannot rename the scope index to " + o_.path + ": " + strerror(errno));
    }
    index_temp_.clear();
    std::string dir = o_.path.find('/') == std::string::npos ? "." : o_.path.substr(0, o_.path.find_last_of('/'));
    int dfd = open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  } catch (const Failure&) {
    commit_all(false);
    throw;
  }
  committed_ = true;
  commit_all(true);

  uint64_t image_bytes = 0, pause_ns = 0;
  for (const auto& m : members_) {
    image_bytes += m->response.image_bytes;
    pause_ns = std::max(pause_ns, m->response.pause_ns);
  }
  if (!o_.quiet) {
    printf("%s: %s %d: %zu processes, %zu zombies, %.1f MiB of images, longest pause %.1f ms\n", o_.path.c_str(),
           image::scope_kind_name(o_.kind), o_.id, members_.size(), scope_now.size() - members_.size(),
           static_cast<double>(image_bytes) / 1048576.0, static_cast<double>(pause_ns) / 1e6);
  }
  if (o_.after == control::After::Kill) {
    // Each process kills itself once it has its commit: wait until all are gone.
    for (const auto& m : members_) {
      bool gone = false;
      for (int i = 0; i < 3000 && !gone; ++i) {
        ProcessInfo now;
        gone = !read_process(m->info.pid, now) || now.state == 'Z' || now.start_time != m->info.start_time;
        if (!gone) {
          usleep(10000);
        }
      }
      if (!gone) {
        throw Failure("the images are complete, but " + who(m->info) + " is still running 30 s later (--kill)");
      }
    }
  }
  return true;
}

}  // namespace

int checkpoint_scope(const ScopeCheckpointOptions& options) {
  uint64_t deadline = options.time > 0 ? now_ms() + static_cast<uint64_t>(options.time * 1000) : 0;
  try {
    for (int round = 0; round < kMaxRounds; ++round) {
      Round r(options, deadline);
      if (r.run()) {
        return 0;
      }
      usleep(static_cast<useconds_t>(10000 * (round + 1)));
    }
    throw Failure("the scope kept changing (processes forking, exec'ing or exiting): gave up after " +
                  std::to_string(kMaxRounds) + " attempts");
  } catch (const std::exception& e) {
    fprintf(stderr, "cr_checkpoint: %s\n", e.what());
    return 1;
  }
}

}  // namespace crcore::tools
