// validation_order (see validation_order.h).
#include "restart/validation_order.h"

#include <array>
#include <cstdlib>
#include <string_view>

#include "image/format.h"
#include "restart/image_chain.h"
#include "restart/restorer.h"

namespace crcore::restart {
namespace {

// Character devices whose open(2) has no effect anyone else sees (a tape drive's would: it may rewind).
bool harmless_device(const std::string& path) {
  static constexpr std::array<std::string_view, 5> kHarmless = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                                                "/dev/urandom"};
  for (std::string_view d : kHarmless) {
    if (path == d) {
      return true;
    }
  }
  return false;
}

std::string descriptor(int fd) { return " (descriptor " + std::to_string(fd) + ")"; }

// A descriptor whose preparation (fd_restore.cpp, resource_restore.cpp) others can see, or "".
std::string visible_descriptor(const image::FdEntry& f, const RestartOptions& options) {
  using image::FdKind;
  switch (static_cast<FdKind>(f.record.kind)) {
    case FdKind::RegularFile:  // reopened by path without O_CREAT, O_EXCL, O_TRUNC
    case FdKind::Directory:
    case FdKind::Tty:  // cr_restart's own terminal (its settings: a Terminal resource, below)
    case FdKind::PipeRead:
    case FdKind::PipeWrite:
    case FdKind::Socket:  // /dev/null
    case FdKind::Other:   // /dev/null
    case FdKind::UnixPair:
    case FdKind::EventFd:
    case FdKind::TimerFd:
    case FdKind::SignalFd:
    case FdKind::Epoll:
    case FdKind::Inotify:
    case FdKind::Memfd:
    case FdKind::DeletedFile:  // an O_TMPFILE: nameless
      return "";
    case FdKind::CharDevice: {
      std::string path = relocate(f.path, options);
      return harmless_device(path) ? "" : "the device " + path + descriptor(f.record.fd) + ", opened again";
    }
    case FdKind::Fifo:
      return "a named FIFO" + descriptor(f.record.fd) + ", whose unread bytes are written back into it";
    case FdKind::UnixListen:
    case FdKind::UnixBound:
      return "a named AF_UNIX socket" + descriptor(f.record.fd) + ", bound again to its name";
    case FdKind::PtyMaster:
    case FdKind::PtySlave:
      return "a pseudo-terminal" + descriptor(f.record.fd) + ", made again";
  }
  return "a descriptor of kind " + std::to_string(f.record.kind) + descriptor(f.record.fd);
}

std::string visible_resource(const image::ResourceEntry& e) {
  using image::ResourceType;
  switch (static_cast<ResourceType>(e.header.type)) {
    case ResourceType::Terminal:
      return "the settings of a terminal" + descriptor(e.header.fd) + ", applied to cr_restart's";
    case ResourceType::SysvSem:
    case ResourceType::SysvMsg:
    case ResourceType::SysvShm:
      return "a SysV IPC object, made again";
    case ResourceType::FdInfo: {
      std::string_view text = e.text();
      if (text.rfind("lock:", 0) == 0 || text.find("\nlock:") != std::string_view::npos) {
        return "a file lock" + descriptor(e.header.fd) + ", taken again";
      }
      return "";
    }
    default:
      return "";
  }
}

}  // namespace

ValidationOrder validation_order_from_environment() {
  const char* value = std::getenv("CRCORE_RESTART_VALIDATE");
  std::string_view v = value != nullptr ? value : "";
  if (v.empty() || v == "overlap") {
    return ValidationOrder::Overlap;
  }
  if (v == "first") {
    return ValidationOrder::First;
  }
  throw RestartError("CRCORE_RESTART_VALIDATE='" + std::string(v) +
                     "' is not 'first' (every checksum before the restore) or 'overlap' (the default)");
}

std::string visible_before_stage(const ImageChain& chain, const RestartOptions& options) {
  const image::Image& img = chain.images.at(0);
  for (const image::FdEntry& f : img.fds) {
    if (std::string why = visible_descriptor(f, options); !why.empty()) {
      return why;
    }
  }
  for (const image::ResourceEntry& e : img.resources) {
    if (std::string why = visible_resource(e); !why.empty()) {
      return why;
    }
  }
  for (const image::RegionEntry& r : img.regions) {
    // Pages loaded into a shared file mapping would be written into the file (the format has none there).
    if (static_cast<image::RegionKind>(r.record.kind) == image::RegionKind::FileShared && r.record.pages_saved > 0) {
      return "pages of a shared mapping of " + r.path + ", written into the file";
    }
  }
  return "";
}

}  // namespace crcore::restart
