// What the restart stage tells the restored runtime. The stage writes it into the runtime's
// global (its address is ProcessRecord.runtime_restart_block) just before the threads resume.
// Shared with the freestanding restart stage: plain C-compatible data only. Bump
// kRestartBlockVersion whenever the layout changes.
#pragma once

#include <cstdint>

namespace crcore::runtime {

inline constexpr uint32_t kRestartBlockVersion = 1;

struct RestartBlock {
  uint32_t version;    // kRestartBlockVersion when written by a stage
  uint32_t restarted;  // 1 in a restored process
  int32_t new_pid;
  int32_t old_pid;
  uint64_t stage_start;  // the stage's own mapping, for the runtime to unmap
  uint64_t stage_length;
  uint32_t flags;         // RestartFlag bits (cr_restart's --stop/--kill/...)
  uint32_t reserved;      // 1 + the descriptor of a memfd holding cr_restart's environment, or 0
  char image_path[4096];  // the image we came back from (cr_get_restart_info)
};

enum RestartFlag : uint32_t {
  kRestartStop = 1u << 0,  // raise SIGSTOP once restored (cr_restart --stop)
  kRestartKill = 1u << 1,  // SIGKILL once restored (cr_restart --kill: test the image only)
  kRestartTerm = 1u << 2,  // SIGTERM once restored
};

}  // namespace crcore::runtime
