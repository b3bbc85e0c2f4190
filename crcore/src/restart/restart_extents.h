// The pages the restart stage reads itself, with pread straight from the image files into place:
// every uncompressed Pages record (of a chain: only the ranges each image provides, so every page
// is read once, from the newest image that holds it). Compressed records still go through the
// page feeder, which decompresses them. cr_restart validated every record (ImageReader::load)
// before; the stage checks each extent against the regions again.
#pragma once

#include <vector>

#include "image/image.h"
#include "stage/stage_args.h"

namespace crcore::restart {

struct ImageChain;

// Opens the image files (descriptors at floor and above, close-on-exec; the stage closes them) and
// lists their uncompressed pages. chain: nullptr for a single image. Throws RestartError when a file
// cannot be opened or is no longer the size it had when it was validated.
std::vector<stage::StageExtent> stage_extents(const image::Image& image, const ImageChain* chain, int floor);

}  // namespace crcore::restart
