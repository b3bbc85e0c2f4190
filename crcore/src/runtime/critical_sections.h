// libcr critical sections: a checkpoint waits until no thread is inside one, and while it is
// pending no thread enters one (cr_enter_cs blocks, cr_tryenter_cs says so).
#pragma once

#include <cstdint>

namespace crcore::runtime {

int enter_critical_section(bool wait);  // 0 entered, 1 would block (only when !wait)
void leave_critical_section();
bool checkpoint_pending();

// Manager: blocks new entries and waits until every section is left. False on timeout
// (entries are unblocked again).
bool block_critical_sections(uint64_t deadline_ns);
void unblock_critical_sections();

// pthread_atfork handlers: fork(2) is a critical section. glibc holds every malloc arena's lock inside
// fork, and a thread captured there would keep them held in the image: after a restart the manager
// could not allocate before it releases the threads, nor the thread finish its fork before the
// release. fork_child also gives the child a fresh state (no checkpoint pending, only its own
// thread's sections).
void fork_prepare();
void fork_parent();
void fork_child();

}  // namespace crcore::runtime
