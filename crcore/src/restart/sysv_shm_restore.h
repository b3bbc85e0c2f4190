// SysV shared memory segments of the image(s) (SysvShm resources), recreated and filled by
// cr_restart before any process of the image runs, so that the processes of a scope sharing one
// segment find it restored once. Each segment comes back with its id (kernel.shm_next_id,
// CONFIG_CHECKPOINT_RESTORE) and key, or, when a segment with that id, key and size still exists
// (a restart where the checkpointed process was killed), that one is reused. Its contents are the
// pages the images hold for its attachments' ranges (the /SYSV regions, of every process), written into it through a
// temporary attachment; mode and owner come back too. The restarted runtime then attaches it over
// that range and marks it for deletion again if it was (runtime/sysv_shm_attach.h). An id that now
// belongs to another segment, a key that now names another id, an id the kernel will not give, or a
// segment whose pages are in an older image of an incremental chain are RestartErrors naming it.
#pragma once

#include <vector>

#include "image/image.h"

namespace crcore::restart {

// One SysvShm record and the image it is in.
struct SysvShmAttachment {
  const image::Image* image;
  image::SysvShmResource record;
};

// Every attachment of one segment (same id) in the images: the segment recreated (or reused) once
// and filled from the pages of all of them. Throws RestartError.
void restore_sysv_segment(const std::vector<SysvShmAttachment>& attachments);

}  // namespace crcore::restart
