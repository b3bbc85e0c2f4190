// SysV semaphore sets and message queues of the image(s) (SysvSem and SysvMsg resources, format
// version 4), recreated in cr_restart before any process of the image runs. The program holds the
// ids, so each object comes back with its id and key: created with the id chosen through
// /proc/sys/kernel/{sem,msg}_next_id (CONFIG_CHECKPOINT_RESTORE); or, when an object with that id
// and key still exists (a restart on the machine where the checkpointed process was killed), it is
// set back to the image's state (semaphore values; the queue emptied and refilled). Mode, owner and
// a queue's byte limit come back too. An id that now belongs to another object, a key that now names
// another id, or an id the kernel will not give are RestartErrors naming the object.
#pragma once

#include <vector>

#include "image/image.h"

namespace crcore::restart {

// Every object of `images` once (objects shared by processes of a scope are in each of their
// images, identical: the first is used). Throws RestartError.
void restore_sysv_objects(const std::vector<const image::Image*>& images);

}  // namespace crcore::restart
