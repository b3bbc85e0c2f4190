// The control channel between a requester (cr_checkpoint, or cr_request_checkpoint in another
// process) and the runtime inside a target process.
//
// Transport: a SOCK_SEQPACKET socket in the abstract namespace named control_socket_name(pid).
// The runtime checks the peer's credentials (SO_PEERCRED): only the target's owner or root.
// Exchange:
//   requester -> Request, with the image file descriptor attached (SCM_RIGHTS); the requester
//                created it (0600, O_EXCL) under a temporary name.
//   runtime   -> Response (written, or why not). The image is complete and flushed when ok.
//   requester -> Commit, after renaming the image to its final name (or failing to).
//   runtime   -> carries out Request.after (continue, or stay stopped and die for kAfterKill).
// A request with kRequestScope (one process of a --tree/--pgid/--sid checkpoint) adds two
// barriers, each a Barrier from the runtime answered by a Barrier from the requester:
//   kBarrierStopped  every thread is parked, nothing written yet; the answer's proceed = 0
//                    abandons the checkpoint (threads released, TempFailure).
//   kBarrierCaptured the descriptors and memory are captured (in place: written); the threads
//                    are released only after the answer, so no process of the scope changes a
//                    shared pipe or socket before every other one has captured it.
// Bump kControlVersion on any change to these structs.
#pragma once

#include <cstdint>
#include <cstdio>

namespace crcore::control {

inline constexpr uint32_t kRequestMagic = 0x51524352;   // "RCRQ"
inline constexpr uint32_t kResponseMagic = 0x50524352;  // "RCRP"
inline constexpr uint32_t kCommitMagic = 0x43524352;    // "RCRC"
inline constexpr uint32_t kBarrierMagic = 0x42524352;   // "RCRB"
inline constexpr uint32_t kControlVersion = 2;

enum class After : uint32_t {
  Continue = 0,  // --cont: every thread continues
  Kill = 1,      // --kill: the process never runs again after the checkpoint (killed once committed)
  Term = 2,      // --term: SIGTERM once committed
  Stop = 3,      // --stop: SIGSTOP once committed
};

enum RequestFlag : uint32_t {
  kRequestCompress = 1u << 0,          // zstd-compress page data
  kRequestCloseUnsupported = 1u << 1,  // descriptors crcore cannot restore come back as /dev/null
  kRequestInPlace = 1u << 2,           // write with the threads stopped, not from a copy-on-write child
  kRequestTemporaryName = 1u << 3,     // the image has a temporary name: removed if no commit comes
  kRequestScope = 1u << 4,             // one process of a scope: barriers, peers in sibling images
  kRequestIncremental = 1u << 5,       // only the pages changed since the last image (when it is known)
};

enum BarrierStage : uint32_t {
  kBarrierStopped = 1,
  kBarrierCaptured = 2,
};

struct Barrier {
  uint32_t magic;    // kBarrierMagic
  uint32_t version;  // kControlVersion
  uint32_t stage;    // BarrierStage
  uint32_t proceed;  // from the requester: 1 go on, 0 abandon (kBarrierStopped only)
};

struct Request {
  uint32_t magic;
  uint32_t version;
  uint32_t after;       // After
  uint32_t flags;       // RequestFlag bits
  uint32_t timeout_ms;  // 0: none. Phase 1 and phase 2 give up (and the process continues) past it
  int32_t compress_level;
};

enum class Status : uint32_t {
  Ok = 0,
  Busy = 1,           // another checkpoint is in progress and this one could not wait
  Omitted = 2,        // a callback answered CR_CHECKPOINT_OMIT
  TempFailure = 3,    // a callback answered CR_CHECKPOINT_TEMP_FAILURE, or a timeout
  PermFailure = 4,    // a callback answered CR_CHECKPOINT_PERM_FAILURE
  WriteFailed = 5,    // the image could not be written (errno says why)
  Refused = 6,        // not allowed (credentials, non-dumpable process, bad request)
  CaptureFailed = 7,  // something in the process cannot be checkpointed (message says what)
};

struct Response {
  uint32_t magic;
  uint32_t version;
  uint32_t status;  // Status
  int32_t error;    // errno where it applies
  uint64_t image_bytes;
  uint64_t page_bytes;
  uint64_t pause_ns;  // how long the application threads were stopped
  uint64_t total_ns;  // request received to response sent
  uint32_t threads;
  uint32_t regions;
  char message[512];
};

struct Commit {
  uint32_t magic;
  uint32_t version;
  uint32_t committed;  // 1: the image is in place under its final name
  uint32_t reserved;
};

// "\0crcore.<pid namespace inode>.<pid in that namespace>": abstract socket names need no file
// and vanish with the process; the namespace makes the name unique when a restored process has
// its original pid inside a PID namespace of its own (cr_restart --restore-pid).
inline int control_socket_name(unsigned long pid_namespace, int pid, char* out, unsigned size) {
  int n = snprintf(out, size, "#crcore.%lu.%d", pid_namespace, pid);
  out[0] = '\0';
  return n;
}

const char* status_name(Status status);

}  // namespace crcore::control
