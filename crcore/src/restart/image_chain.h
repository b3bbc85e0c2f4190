// Chains of incremental images: the newest image given to cr_restart, its parent, the parent's
// parent, ... down to a full image, found by image id in the newest image's directory. Everything
// is loaded and validated, and the links checked, before anything of the process is recreated.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"

namespace crcore::restart {

struct ImageChain {
  std::vector<image::Image> images;  // [0]: the newest (the one restored), then each parent; the last is full
  // For each image of the chain, the address ranges whose contents it provides (sorted, disjoint):
  // the pages of its Pages records that no newer image states and that every newer image inherits.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> feed;
};

// Loads the parents of `newest` (nothing to do for a full image) and decides which image provides
// each page. Sets each region's pages_saved in images[0] to the pages the chain provides for it.
// Throws RestartError (a missing or mismatched parent) or ImageError (a damaged one). proof: each parent
// whose file it names skips its page checksums (ImageReader::load(proof)); nullptr: every parent fully.
// without_page_checksums: every parent is loaded by ImageReader::load_without_page_checksums() (as the
// newest must have been): the caller checks the page checksums of the whole chain (page_validator.h).
ImageChain load_chain(image::Image newest, const image::ValidationProof* proof = nullptr,
                      bool without_page_checksums = false);

// "1f2e...": an image id as cr_info and messages show it.
std::string image_id_string(const uint8_t* id);

}  // namespace crcore::restart
