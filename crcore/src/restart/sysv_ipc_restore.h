// SysV semaphore sets, message queues (and shared memory segments: sysv_shm_restore.h) of the image(s) (SysvSem and
// SysvMsg resources, format version 4), recreated in cr_restart before any process of the image runs. The program holds
// the ids, so each object comes back with its id and key: created with the id chosen through
// /proc/sys/kernel/{sem,msg}_next_id (CONFIG_CHECKPOINT_RESTORE); or, when an object with that id
// and key still exists (a restart on the machine where the checkpointed process was killed), it is
// set back to the image's state (semaphore values; the queue emptied and refilled). Mode, owner and
// a queue's byte limit come back too. An id that now belongs to another object, a key that now names
// another id, or an id the kernel will not give are RestartErrors naming the object.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "image/image.h"

namespace crcore::restart {

// Creates a SysV object whose id must be `wanted` (written to `next_id_file`, e.g.
// /proc/sys/kernel/shm_next_id, just before `create`); `remove` drops one that got another id.
// Returns the id. Throws RestartError naming `what`.
int create_sysv_with_id(const std::string& what, const char* next_id_file, int wanted,
                        const std::function<int()>& create, const std::function<void(int)>& remove);

// Every object of `images` once (semaphore sets, message queues, shared memory segments:
// sysv_shm_restore.h) (objects shared by processes of a scope are in each of their
// images, identical: the first is used). Throws RestartError.
void restore_sysv_objects(const std::vector<const image::Image*>& images);

}  // namespace crcore::restart
