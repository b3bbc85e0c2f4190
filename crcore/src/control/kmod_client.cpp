// The requester's side of the kernel-module backend (see kmod_client.h).
#include "control/kmod_client.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crcore_ioctl.h"

namespace crcore::control {

bool kmod_device_present() { return access(CRCORE_KMOD_DEVICE, F_OK) == 0; }

KmodRequester::~KmodRequester() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

std::string KmodRequester::open_device() {
  fd_ = open(CRCORE_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    return std::string("cannot open " CRCORE_KMOD_DEVICE " (is the crcore module loaded?): ") + strerror(errno);
  }
  struct crcore_version version {};
  if (ioctl(fd_, CRCORE_IOC_VERSION, &version) != 0) {
    return std::string(CRCORE_KMOD_DEVICE " does not answer its version: ") + strerror(errno);
  }
  if (version.abi != CRCORE_KMOD_ABI) {
    return std::string(CRCORE_KMOD_DEVICE " speaks ABI ") + std::to_string(version.abi) + ", this tool " +
           std::to_string(CRCORE_KMOD_ABI);
  }
  return "";
}

std::string KmodRequester::send_request(int pid, const Request& request, int image_fd, bool* not_registered) {
  crcore_request r{};
  r.abi = CRCORE_KMOD_ABI;
  r.pid = pid;
  r.scope = CRCORE_SCOPE_PROCESS;
  r.image_fd = image_fd;
  r.after = request.after;
  r.flags = request.flags;
  r.timeout_ms = request.timeout_ms;
  r.compress_level = request.compress_level;
  if (ioctl(fd_, CRCORE_IOC_REQUEST, &r) != 0) {
    int e = errno;
    if (not_registered != nullptr) {
      *not_registered = e == ENOENT;
    }
    switch (e) {
      case ENOENT:
        return "process " + std::to_string(pid) +
               " is not registered with the crcore module (not run under cr_run, or started before the module "
               "was loaded)";
      case EPERM:
        return "the kernel module refused: only the owner of process " + std::to_string(pid) +
               " or root may checkpoint it, and only if it is dumpable";
      case EBUSY:
        return "another checkpoint of process " + std::to_string(pid) + " is in progress";
      case ESRCH:
        return "no process " + std::to_string(pid);
      default:
        return std::string("the kernel module refused the request: ") + strerror(e);
    }
  }
  id_ = r.id;
  return "";
}

std::string KmodRequester::wait_response(Response& response, int timeout_ms) {
  crcore_poll p{};
  p.abi = CRCORE_KMOD_ABI;
  p.id = id_;
  p.wait_ms = timeout_ms > 0 ? static_cast<uint32_t>(timeout_ms) : ~0u;
  int rc;
  do {
    rc = ioctl(fd_, CRCORE_IOC_POLL, &p);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    return errno == ETIMEDOUT ? std::string("no answer from the process in time")
                              : std::string("waiting for the result failed: ") + strerror(errno);
  }
  response = Response{};
  response.magic = kResponseMagic;
  response.version = kControlVersion;
  if (p.result.status == CRCORE_STATUS_TARGET_GONE) {
    return std::string("the process went away: ") + p.result.message;
  }
  response.status = p.result.status;
  response.error = p.result.error;
  response.image_bytes = p.result.image_bytes;
  response.page_bytes = p.result.page_bytes;
  response.pause_ns = p.result.pause_ns;
  response.total_ns = p.result.total_ns;
  response.threads = p.result.threads;
  response.regions = p.result.regions;
  snprintf(response.message, sizeof response.message, "%s", p.result.message);
  return "";
}

std::string KmodRequester::send_commit(bool committed) {
  crcore_commit c{};
  c.abi = CRCORE_KMOD_ABI;
  c.id = id_;
  c.committed = committed ? 1 : 0;
  if (ioctl(fd_, CRCORE_IOC_COMMIT, &c) != 0) {
    return std::string("commit failed: ") + strerror(errno);
  }
  return "";
}

}  // namespace crcore::control
