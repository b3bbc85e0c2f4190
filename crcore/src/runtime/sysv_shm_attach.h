// SysV shared memory attachments given back to a restarted process (image SysvShm resources).
// cr_restart has recreated (or reused) each segment with its id and filled it from the image before
// the restart stage ran (restart/sysv_shm_restore.h); the stage mapped the attachment's range as
// plain shared memory with the same contents. Once the restarted process is back, its runtime reads
// the SysvShm records from the image it came from (RestartBlock.image_path) and attaches each
// segment over that range (shmat with SHM_REMAP, SHM_RDONLY/SHM_EXEC as it was), then marks a
// segment that was marked for deletion at the checkpoint for deletion again (IPC_RMID): it lives on
// while attached, as before. This runs before the application's threads are released.
#pragma once

#include "runtime/restart_resources.h"

namespace crcore::runtime {

// Normal context, after a restart (the records read by restart_resources.h). Returns false (and
// says why on stderr) when a segment could not be attached again: the process then goes on with a
// detached copy of its contents.
bool reattach_sysv_segments(const RestartResources& image);

}  // namespace crcore::runtime
