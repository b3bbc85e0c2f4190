// Surgery on glibc's dynamic linker state (glibc 2.36, x86-64), for a restored process: the old lower
// half's namespace is unlinked so that a fresh one can be loaded. Layouts are verified, never assumed
// blindly: a mismatch throws with a message and changes nothing.
#pragma once

#include <link.h>

namespace crmpi {

// `any_object` is any link map of the namespace to drop (its objects' memory may be gone; their link
// maps, kept by the dynamic linker in the saved heap, are still readable).
void unlink_namespace(const struct link_map* any_object);

}  // namespace crmpi
