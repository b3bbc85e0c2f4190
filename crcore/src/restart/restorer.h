// cr_restart's work before the stage: check that the image can be restored here, recreate the
// process-wide state (descriptors, signal dispositions, limits, cwd), start the page feeder,
// and hand over to the restart stage. Everything that can fail for a reason the user can fix
// fails here, with a clear message, before anything of the old process exists.
#pragma once

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"

namespace crcore::restart {

struct ImageChain;

class RestartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A number in hexadecimal as the messages print it ("%#llx": 0x7f00, and 0 as 0).
inline std::string hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
  return text;
}
// A SysV IPC key (key_t), as its 32 bits.
inline std::string hex(int32_t key) { return hex(uint64_t{static_cast<uint32_t>(key)}); }

struct RestartOptions {
  std::string image_path;
  std::vector<std::pair<std::string, std::string>> relocations;  // --relocate OLD=NEW
  uint32_t after_flags = 0;                                      // runtime::RestartFlag
  bool quiet = false;
  bool restore_tids = false;   // threads get their original tids (set by --restore-pid)
  bool no_affinity = false;    // --no-affinity: threads keep cr_restart's CPU affinity and memory policy
  std::string run_on_success;  // run once every check has passed, just before the process is recreated
  std::string run_on_failure;  // --restore-pid in a namespace: run there when the restart fails inside it
  const struct ScopeFds* scope_fds = nullptr;  // a scope's shared pipes and socketpairs (scope_fds.h)
  const ImageChain* chain = nullptr;           // an incremental image's chain (its images[0] is the image restored)
  int page_validator = 0;  // pid of the page validator the stage waits for (page_validator.h); 0: none
};

// Never returns on success: this process becomes the restored one.
[[noreturn]] void restore(const image::Image& image, const RestartOptions& options);

// Applies --relocate rules to a path.
std::string relocate(const std::string& path, const RestartOptions& options);

}  // namespace crcore::restart
