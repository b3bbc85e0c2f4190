// The advice a program gave its mappings with madvise(2) (huge pages or not, left out of or wiped in
// a child, left out of core dumps, merged by KSM): read from VmFlags in /proc/self/smaps, kept in the
// image's Region records (image::kRegionAdvice bits) and given again by the restart stage.
//
// A copy-on-write writer is a forked child, and two kinds of advice act on exactly that fork: a
// MADV_DONTFORK mapping is absent from the child, a MADV_WIPEONFORK one reads as zeros there. So the
// checkpoint lifts that advice for the instant of the fork (find_fork_advice before the threads stop,
// lift_fork_advice / restore_fork_advice around the fork), and the writer checks in its own smaps that
// nothing changed in between (the program may advise a mapping while the checkpoint starts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/capture_arena.h"
#include "runtime/memory_capture.h"
#include "runtime/smaps_prefetch.h"

namespace crcore::runtime {

// A mapping advised MADV_DONTFORK or MADV_WIPEONFORK (bits: kRegionDontFork, kRegionWipeOnFork).
struct ForkAdvice {
  uint64_t start;
  uint64_t end;
  uint32_t bits;
};

// The image::kRegionAdvice bits of a VmFlags line's value ("rd wr mr mw me ac sd hg ...").
// Async-signal-safe.
uint32_t advice_from_vmflags(const char* flags, size_t length);

// Normal context (allocates): the mappings of this process advised MADV_DONTFORK or
// MADV_WIPEONFORK, in address order. 0 or -errno.
int find_fork_advice(std::vector<ForkAdvice>& out);

// RESTRICTED CODE (threads stopped): lifts that advice for the writer's fork (MADV_DOFORK,
// MADV_KEEPONFORK). On failure (a mapping changed since find_fork_advice) what was lifted is given
// back and -errno returned, with why.
int lift_fork_advice(const ForkAdvice* list, size_t count, char* why, size_t why_size);
// RESTRICTED CODE: gives it back in the parent after the fork (and after a failed fork).
void restore_fork_advice(const ForkAdvice* list, size_t count);

// RESTRICTED CODE: reads /proc/self/smaps and sets each captured region's advice bits. `lifted`
// (count entries) is the advice lift_fork_advice took away for this writer's fork: its bits are
// added back. With `in_fork_child`, the caller is the copy-on-write writer: every region must still
// be mapped here and no other region may be wiped on fork (else the program changed its advice while
// the checkpoint started: -EAGAIN with why). 0 or -errno.
// `smaps`: the file's text read before (smaps_prefetch.h), or nullptr to read it here.
int read_region_advice(CaptureArena& arena, MemoryCapture& memory, const ForkAdvice* lifted, size_t count,
                       bool in_fork_child, SmapsText* smaps, char* why, size_t why_size);

// Normal context, after a copy-on-write checkpoint: the program's writes while the writer held its
// copy split the huge pages of its MADV_HUGEPAGE mappings into small ones (the kernel copies 4 KiB on
// such a fault), and a later checkpoint's fork would copy their page tables again: gives them back
// (MADV_COLLAPSE, which copies each 2 MiB anew: about 0.35 s of CPU per GiB on this machine, while
// the program runs). The number of mappings collapsed, or -errno (-EINVAL: a kernel without it).
int collapse_split_huge_pages();

}  // namespace crcore::runtime
