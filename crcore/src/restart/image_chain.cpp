// Chains of incremental images (see image_chain.h).
#include "restart/image_chain.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <set>

#include "image/checksum.h"
#include "image/format.h"
#include "image/image_reader.h"
#include "restart/restorer.h"

namespace crcore::restart {
namespace {

constexpr size_t kMaxChain = 4096;

// Disjoint address intervals [start, end), kept merged.
class Intervals {
 public:
  void add(uint64_t start, uint64_t end) {
    if (start >= end) {
      return;
    }
    auto it = map_.upper_bound(start);
    if (it != map_.begin() && std::prev(it)->second >= start) {
      --it;
    }
    while (it != map_.end() && it->first <= end) {
      start = std::min(start, it->first);
      end = std::max(end, it->second);
      it = map_.erase(it);
    }
    map_.emplace(start, end);
  }
  // The parts of [start, end) inside the set.
  std::vector<std::pair<uint64_t, uint64_t>> overlap(uint64_t start, uint64_t end) const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    auto it = map_.upper_bound(start);
    if (it != map_.begin()) {
      --it;
    }
    for (; it != map_.end() && it->first < end; ++it) {
      uint64_t s = std::max(start, it->first), e = std::min(end, it->second);
      if (s < e) {
        out.emplace_back(s, e);
      }
    }
    return out;
  }
  void remove(uint64_t start, uint64_t end) {
    for (auto [s, e] : overlap(start, end)) {
      auto it = std::prev(map_.upper_bound(s));
      uint64_t is = it->first, ie = it->second;
      map_.erase(it);
      if (is < s) {
        map_.emplace(is, s);
      }
      if (e < ie) {
        map_.emplace(e, ie);
      }
    }
  }
  Intervals intersect(const Intervals& other) const {
    Intervals out;
    for (auto [s, e] : map_) {
      for (auto [a, b] : other.overlap(s, e)) {
        out.add(a, b);
      }
    }
    return out;
  }
  bool empty() const { return map_.empty(); }
  const std::map<uint64_t, uint64_t>& ranges() const { return map_; }

 private:
  std::map<uint64_t, uint64_t> map_;
};

bool has_pages(uint32_t kind) { return static_cast<image::RegionKind>(kind) != image::RegionKind::FileShared; }

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

// The file in dir whose header has this image id ("" if none). Only file headers are read.
std::string find_image(const std::string& dir, const uint8_t* id) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    throw RestartError("cannot read the directory " + dir + " to find a parent image: " + strerror(errno));
  }
  std::string found;
  while (dirent* e = readdir(d)) {
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) {
      continue;
    }
    std::string path = dir + "/" + e->d_name;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    image::FileHeader h{};
    bool ok = pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h);
    close(fd);
    if (ok && memcmp(h.magic, image::kFileMagic, sizeof h.magic) == 0 &&
        h.header_check == image::file_header_check(h) && memcmp(h.image_id, id, sizeof h.image_id) == 0) {
      found = path;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace

std::string image_id_string(const uint8_t* id) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    s += digits[id[i] >> 4];
    s += digits[id[i] & 15];
  }
  return s;
}

ImageChain load_chain(image::Image newest, const image::ValidationProof* proof, bool without_page_checksums) {
  ImageChain chain;
  chain.images.push_back(std::move(newest));
  std::set<std::string> seen{image_id_string(chain.images[0].header.image_id)};
  while ((chain.images.back().header.flags & image::kFileIncremental) != 0) {
    const image::Image& child = chain.images.back();
    if (chain.images.size() >= kMaxChain) {
      throw RestartError("the chain of incremental images is longer than " + std::to_string(kMaxChain));
    }
    std::string dir = directory_of(child.path);
    std::string parent_id = image_id_string(child.header.parent_id);
    std::string path = find_image(dir, child.header.parent_id);
    if (path.empty()) {
      throw RestartError(child.path + " is an incremental image, but its parent (image id " + parent_id +
                         ") is not in " + dir + ": keep every image of a chain in one directory");
    }
    if (!seen.insert(parent_id).second) {
      throw RestartError(child.path + ": the chain of incremental images loops back to " + path);
    }
    image::ImageReader reader(path);
    image::Image parent = without_page_checksums ? reader.load_without_page_checksums()
                          : proof != nullptr     ? reader.load(*proof)
                                                 : reader.load();
    if (parent.process.pid != child.process.pid ||
        parent.process.checkpoint_serial >= child.process.checkpoint_serial) {
      throw RestartError(child.path + " does not continue " + path + ": that is checkpoint " +
                         std::to_string(parent.process.checkpoint_serial) + " of process " +
                         std::to_string(parent.process.pid) + ", this one checkpoint " +
                         std::to_string(child.process.checkpoint_serial) + " of process " +
                         std::to_string(child.process.pid) + " (mismatched parent)");
    }
    chain.images.push_back(std::move(parent));
  }

  // Which image provides each page: newest first; a page an image does not state passes to the
  // parent only where that image's region inherits.
  image::Image& top = chain.images[0];
  Intervals active;
  for (const auto& r : top.regions) {
    if (has_pages(r.record.kind)) {
      active.add(r.record.start, r.record.end);
    }
  }
  chain.feed.resize(chain.images.size());
  for (size_t k = 0; k < chain.images.size() && !active.empty(); ++k) {
    const image::Image& img = chain.images[k];
    Intervals provided;
    for (const image::PagesRef& ref : img.pages) {
      uint64_t end = ref.address + ref.length;
      if ((ref.flags & image::kRecordZeroFill) == 0) {
        for (auto [s, e] : active.overlap(ref.address, end)) {
          provided.add(s, e);
        }
      }
      active.remove(ref.address, end);  // zero-fill: zero now, nothing older shows through
    }
    // Cut at the newest image's region boundaries: an older image's run of pages may span two regions
    // that a later mprotect or munmap split, and the stage fills each piece within one region.
    for (auto [s, e] : provided.ranges()) {
      auto r = std::upper_bound(top.regions.begin(), top.regions.end(), s,
                                [](uint64_t a, const image::RegionEntry& x) { return a < x.record.end; });
      for (; r != top.regions.end() && r->record.start < e; ++r) {
        uint64_t a = std::max(s, r->record.start), b = std::min(e, r->record.end);
        if (a < b) {
          chain.feed[k].emplace_back(a, b);
        }
      }
    }
    if (k + 1 == chain.images.size()) {
      break;
    }
    Intervals inherits;
    for (const auto& r : img.regions) {
      if ((r.record.flags & image::kRegionInherits) != 0) {
        inherits.add(r.record.start, r.record.end);
      }
    }
    active = active.intersect(inherits);
    Intervals parent_regions;
    for (const auto& r : chain.images[k + 1].regions) {
      if (has_pages(r.record.kind)) {
        parent_regions.add(r.record.start, r.record.end);
      }
    }
    Intervals outside = active;
    for (auto [s, e] : parent_regions.ranges()) {
      outside.remove(s, e);
    }
    if (!outside.empty()) {
      throw RestartError(img.path + " inherits memory at " + std::to_string(outside.ranges().begin()->first) +
                         " that its parent " + chain.images[k + 1].path + " does not have (mismatched parent)");
    }
  }
  // What the stage must make writable and fill: the pages the chain provides, region by region.
  for (auto& r : top.regions) {
    uint64_t pages = 0;
    for (const auto& feed : chain.feed) {
      for (auto [s, e] : feed) {
        uint64_t a = std::max(s, r.record.start), b = std::min(e, r.record.end);
        pages += a < b ? (b - a) / 4096 : 0;
      }
    }
    r.record.pages_saved = pages;
  }
  return chain;
}

}  // namespace crcore::restart
