// The requester's side of the control channel.
#include "control/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace crcore::control {

const char* status_name(Status status) {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::Busy:
      return "another checkpoint is in progress";
    case Status::Omitted:
      return "omitted by a callback (CR_CHECKPOINT_OMIT)";
    case Status::TempFailure:
      return "temporary failure";
    case Status::PermFailure:
      return "permanent failure";
    case Status::WriteFailed:
      return "the image could not be written";
    case Status::Refused:
      return "refused";
    case Status::CaptureFailed:
      return "the process holds something that cannot be checkpointed";
  }
  return "unknown status";
}

Connection::Connection(Connection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Connection::~Connection() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

namespace {

// The target's pid as its own PID namespace numbers it (the last NSpid entry), and that
// namespace's inode: what the target's runtime named its socket after.
bool target_identity(int pid, unsigned long* ns_inode, int* inner_pid) {
  struct stat ns;
  std::string base = "/proc/" + std::to_string(pid);
  if (stat((base + "/ns/pid").c_str(), &ns) != 0) {
    return false;
  }
  *ns_inode = ns.st_ino;
  *inner_pid = pid;
  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("NSpid:", 0) == 0) {
      std::istringstream in(line.substr(6));
      int value;
      while (in >> value) {
        *inner_pid = value;
      }
      break;
    }
  }
  return true;
}

}  // namespace

std::string Connection::connect_to(int pid) {
  unsigned long ns_inode = 0;
  int inner_pid = pid;
  if (!target_identity(pid, &ns_inode, &inner_pid)) {
    return "no process " + std::to_string(pid) + " (or its /proc entry is not readable)";
  }
  fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    return std::string("socket: ") + strerror(errno);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  int n = control_socket_name(ns_inode, inner_pid, addr.sun_path, sizeof addr.sun_path);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int e = errno;
    close(fd_);
    fd_ = -1;
    if (e == ECONNREFUSED || e == ENOENT) {
      return "process " + std::to_string(pid) +
             " is not running under crcore (start it with cr_run, or link it with -lcr)";
    }
    return "cannot reach process " + std::to_string(pid) + ": " + strerror(e);
  }
  return "";
}

std::string Connection::send_request(const Request& request, int image_fd) {
  iovec iov{const_cast<Request*>(&request), sizeof request};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &image_fd, sizeof image_fd);
  if (sendmsg(fd_, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) {
    return std::string("sending the request failed: ") + strerror(errno);
  }
  return "";
}

std::string Connection::wait_response(Response& response, int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r == 0) {
      return "timed out waiting for the checkpoint";
    }
    if (r < 0) {
      return std::string("poll: ") + strerror(errno);
    }
    break;
  }
  ssize_t n = recv(fd_, &response, sizeof response, 0);
  if (n == 0) {
    return "the process ended before the checkpoint completed";
  }
  if (n != static_cast<ssize_t>(sizeof response) || response.magic != kResponseMagic ||
      response.version != kControlVersion) {
    return "malformed response from the target's runtime (a different crcore version?)";
  }
  response.message[sizeof response.message - 1] = '\0';
  return "";
}

std::string Connection::send_commit(bool committed) {
  Commit c{kCommitMagic, kControlVersion, committed ? 1u : 0u, 0};
  if (send(fd_, &c, sizeof c, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof c)) {
    return std::string("sending the commit failed: ") + strerror(errno);
  }
  return "";
}

Request make_request(After after, uint32_t timeout_ms, bool compress, bool close_unsupported, bool in_place) {
  Request r{};
  r.magic = kRequestMagic;
  r.version = kControlVersion;
  r.after = static_cast<uint32_t>(after);
  r.flags = (compress ? kRequestCompress : 0u) | (close_unsupported ? kRequestCloseUnsupported : 0u) |
            (in_place ? kRequestInPlace : 0u);
  r.timeout_ms = timeout_ms;
  r.compress_level = 1;
  return r;
}

}  // namespace crcore::control
