// stage_extents (see restart_extents.h).
#include "restart/restart_extents.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "restart/image_chain.h"
#include "restart/restorer.h"

namespace crcore::restart {
namespace {

int open_image(const image::Image& img, int floor) {
  int fd = open(img.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw RestartError("cannot open " + img.path + " again: " + strerror(errno));
  }
  // The very file that was validated (or that a validation proof vouched for): same device, inode, size,
  // mtime and ctime. The stage reads its pages without checking them again.
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != img.file_size ||
      image::FileIdentity::of(st) != img.identity) {
    close(fd);
    throw RestartError(img.path + " changed while cr_restart was reading it");
  }
  int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  close(fd);
  if (high < 0) {
    throw RestartError("cannot keep " + img.path + " open: " + strerror(errno));
  }
  return high;
}

bool stored_raw(const image::PagesRef& ref) { return (ref.flags & (image::kRecordZstd | image::kRecordZeroFill)) == 0; }

// The extents of one image's uncompressed records, cut to `feed` (all of them when feed is null).
void add_extents(const image::Image& img, const std::vector<std::pair<uint64_t, uint64_t>>* feed, int floor,
                 std::vector<stage::StageExtent>& out) {
  int fd = -1;
  auto add = [&](const image::PagesRef& ref, uint64_t start, uint64_t end) {
    if (fd < 0) {
      fd = open_image(img, floor);
    }
    out.push_back(stage::StageExtent{start, end - start,
                                     ref.payload_offset + sizeof(image::PagesHeader) + (start - ref.address), fd, 0});
  };
  for (const image::PagesRef& ref : img.pages) {
    if (!stored_raw(ref)) {
      continue;
    }
    uint64_t end = ref.address + ref.length;
    if (feed == nullptr) {
      add(ref, ref.address, end);
      continue;
    }
    auto it = std::upper_bound(feed->begin(), feed->end(), ref.address,
                               [](uint64_t a, const std::pair<uint64_t, uint64_t>& r) { return a < r.second; });
    for (; it != feed->end() && it->first < end; ++it) {
      uint64_t s = std::max(ref.address, it->first), e = std::min(end, it->second);
      if (s < e) {
        add(ref, s, e);
      }
    }
  }
}

}  // namespace

std::vector<stage::StageExtent> stage_extents(const image::Image& img, const ImageChain* chain, int floor) {
  std::vector<stage::StageExtent> extents;
  if (chain == nullptr || chain->images.size() == 1) {
    add_extents(img, nullptr, floor, extents);
  } else {
    for (size_t k = 0; k < chain->images.size(); ++k) {
      add_extents(chain->images[k], &chain->feed[k], floor, extents);
    }
  }
  return extents;
}

}  // namespace crcore::restart
