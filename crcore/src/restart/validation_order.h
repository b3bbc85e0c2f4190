// Whether cr_restart checks the page checksums before the restore (the old order) or while the restart
// stage loads the pages (the page validator, page_validator.h). The overlap is used only when nothing the
// restart does before the stage's verdict can be seen outside the new process: a damaged image then gets
// what it got before (its message, a non-zero status, nothing of the program run, nothing changed outside).
// docs/restart.md §1, "The page checksums, while the pages load".
#pragma once

#include <string>

namespace crcore::restart {

struct ImageChain;
struct RestartOptions;

enum class ValidationOrder {
  First,    // every checksum before anything changes (CRCORE_RESTART_VALIDATE=first)
  Overlap,  // the page checksums in a child while the stage loads the pages (the default)
};

// CRCORE_RESTART_VALIDATE: unset, "" or "overlap": Overlap; "first": First. Anything else: RestartError.
ValidationOrder validation_order_from_environment();

// What cr_restart would do, for this image (chain.images[0]: its descriptors, resources and regions), before
// the stage's verdict that shows outside the new process: e.g. "a named FIFO (descriptor 5): its unread
// bytes are written back into it". "" when there is nothing. Options and flags (--restore-pid,
// --run-on-success, ...) are cr_restart.cpp's to check.
std::string visible_before_stage(const ImageChain& chain, const RestartOptions& options);

}  // namespace crcore::restart
