// cr_checkpoint --tree/--pgid/--sid: checkpoints every process of a scope at one consistent point.
//
// Each live process of the scope gets a Request with kRequestScope over its own control
// connection. Every process stops its threads and reports kBarrierStopped; only when all have
// stopped does the requester look at the scope again: a process that forked, exec'd or exited
// meanwhile makes it abandon this round (every process continues, nothing is written) and start
// again. Then every process captures its descriptors and memory (kBarrierCaptured) before any is
// released, so no pipe or socket between them changes between two captures. The images are
// checked together (socketpair peers inside the scope), renamed into place, and the index is
// written last: only then does each process get its Commit (and, with --kill, dies).
#pragma once

#include <sys/types.h>

#include <string>

#include "control/control_protocol.h"
#include "image/scope_index.h"

namespace crcore::tools {

struct ScopeCheckpointOptions {
  image::ScopeKind kind = image::ScopeKind::Tree;
  pid_t id = 0;
  std::string path;  // the index; each image is PATH.<pid>
  control::After after = control::After::Continue;
  double time = 0;  // seconds, 0: no limit
  bool compress = false;
  bool close_unsupported = false;
  bool no_cow = false;
  bool quiet = false;
  int index_fd = -1;  // libcr's cr_request_checkpoint: write the index into this descriptor instead
};

// Returns the exit status of cr_checkpoint (0, or 1 with a message on stderr).
int checkpoint_scope(const ScopeCheckpointOptions& options);

}  // namespace crcore::tools
