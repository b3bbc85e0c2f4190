// Page selection with dirty tracking (see dirty_scan.h). RESTRICTED CODE: syscalls and plain data.
#include "runtime/dirty_scan.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "image/checksum.h"
#include "image/format.h"
#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

constexpr uint64_t kPage = 4096;

bool is_anonymous(uint32_t kind) {
  auto k = static_cast<image::RegionKind>(kind);
  return k == image::RegionKind::AnonPrivate || k == image::RegionKind::Heap || k == image::RegionKind::Stack;
}

// Adds one page to the region's runs (data or zero-fill), merging with the last run of its kind.
int add_run(CaptureArena& arena, CapturedRegion& r, MemoryCapture& out, uint64_t address, bool zero) {
  uint64_t flag = zero ? kRunZeroFill : 0;
  PageRun* last = r.run_count > 0 ? &arena.runs[out.run_count - 1] : nullptr;
  if (last != nullptr && (last->length & kRunZeroFill) == flag) {
    uint64_t length = last->length & ~kRunZeroFill;
    if (last->address + length == address && length < image::kMaxPagesPayload) {
      last->length += kPage;
      ++r.record.pages_saved;
      ++out.pages_saved;
      return 0;
    }
  }
  if (out.run_count >= arena.run_capacity) {
    return -E2BIG;
  }
  arena.runs[out.run_count++] = {address, kPage | flag};
  ++r.run_count;
  ++r.record.pages_saved;
  ++out.pages_saved;
  return 0;
}

// A cursor over an address-sorted list of ranges, queried with increasing addresses.
struct RangeCursor {
  const uapi::PageRegion* list;
  uint64_t count;
  uint64_t at = 0;
  bool contains(uint64_t address) {
    while (at < count && list[at].end <= address) {
      ++at;
    }
    return at < count && list[at].start <= address;
  }
};

// The last image's tracked range holding an address (ranges sorted, queried with increasing addresses).
struct PrevCursor {
  const TrackedRange* ranges;
  uint32_t count;
  uint32_t at = 0;
  const TrackedRange* find(uint64_t address) {
    while (at < count && ranges[at].end <= address) {
      ++at;
    }
    return at < count && ranges[at].start <= address ? &ranges[at] : nullptr;
  }
};

bool usable(const TrackedRange& p) {
  return p.method == static_cast<uint32_t>(TrackMethod::Hash) ||
         (p.method == static_cast<uint32_t>(TrackMethod::Uffd) && p.scan_ok != 0);
}

// The hash the last image's range p recorded for a page (0: none, i.e. not saved or zero).
uint64_t previous_hash(const IncrementalPlan& plan, const TrackedRange& p, uint64_t address, uint64_t* cursor) {
  const PageHash* h = plan.prev_hashes + p.hash_first;
  if (*cursor < p.hash_first) {
    *cursor = p.hash_first;
  }
  uint64_t end = p.hash_first + p.hash_count;
  while (*cursor < end && plan.prev_hashes[*cursor].address < address) {
    ++*cursor;
  }
  (void)h;
  return *cursor < end && plan.prev_hashes[*cursor].address == address ? plan.prev_hashes[*cursor].hash : 0;
}

int scan_anonymous(CaptureArena& arena, CapturedRegion& r, MemoryCapture& out, const IncrementalPlan& plan,
                   TrackedRange* next, int pagemap, RangeCursor& written, RangeCursor& zapped, RangeCursor& lost,
                   PrevCursor& prev, uint64_t& hash_cursor, char* why, size_t why_size) {
  r.first_run = static_cast<uint32_t>(out.run_count);
  r.run_count = 0;
  uint64_t start = r.record.start, end = r.record.end;
  bool inherits = false;
  if (plan.incremental) {
    for (uint32_t i = 0; i < plan.prev_count; ++i) {
      const TrackedRange& p = plan.prev[i];
      if (p.start < end && start < p.end && usable(p)) {
        inherits = true;
        break;
      }
    }
  }
  if (inherits) {
    r.record.flags |= image::kRegionInherits;
  }
  bool store_hashes = next != nullptr && next->method == static_cast<uint32_t>(TrackMethod::Hash);
  if (store_hashes) {
    next->hash_first = *plan.next_hash_count;
    next->hash_count = 0;
  }
  bool readable = (r.record.prot & image::kProtRead) != 0;
  bool made_readable = false;
  int rc = 0;
  uint64_t pages = (end - start) / kPage;
  for (uint64_t done = 0; done < pages && rc == 0;) {
    uint64_t batch = pages - done < arena.pagemap_capacity ? pages - done : arena.pagemap_capacity;
    off_t where = static_cast<off_t>((start / kPage + done) * sizeof(uint64_t));
    if (pread(pagemap, arena.pagemap, batch * sizeof(uint64_t), where) != static_cast<ssize_t>(batch * 8)) {
      keep_first_why(why, why_size, "short read of /proc/self/pagemap");
      rc = -EIO;
      break;
    }
    for (uint64_t k = 0; k < batch && rc == 0; ++k) {
      uint64_t address = start + (done + k) * kPage;
      prefetch_ahead(arena.pagemap, k, batch, address);
      bool present = page_entry_touched(arena.pagemap[k]);
      const TrackedRange* p = plan.incremental ? prev.find(address) : nullptr;
      bool by_uffd = p != nullptr && p->method == static_cast<uint32_t>(TrackMethod::Uffd) && p->scan_ok != 0 &&
                     !lost.contains(address);
      bool by_hash = p != nullptr && p->method == static_cast<uint32_t>(TrackMethod::Hash);
      bool was_written = by_uffd && written.contains(address);
      bool was_zapped = by_uffd && zapped.contains(address);
      // Whether this page's contents must be read: to save it, or to hash it.
      bool need_read = present && (store_hashes || by_hash || !by_uffd || was_written);
      bool zero = true;
      uint64_t hash = 0;
      if (need_read) {
        if (!readable && !made_readable) {
          if (mprotect(reinterpret_cast<void*>(start), end - start, PROT_READ) != 0) {
            keep_first_why(why, why_size, "cannot read a protected region");
            rc = -errno;
            break;
          }
          made_readable = true;
        }
        const void* page = reinterpret_cast<const void*>(address);
        zero = is_zero_page(page);
        if (!zero && (store_hashes || by_hash)) {
          hash = image::payload_hash(page, kPage);
          hash = hash == 0 ? 1 : hash;  // 0 means "no data"
        }
      }
      if (store_hashes && hash != 0) {
        if (*plan.next_hash_count >= plan.next_hash_capacity) {
          *plan.overflow = 1;
          store_hashes = false;
        } else {
          plan.next_hashes[(*plan.next_hash_count)++] = {address, hash};
          ++next->hash_count;
        }
      }
      // What the image says about this page: data, zero-fill, or nothing.
      enum { Nothing, Data, ZeroFill } what = Nothing;
      if (!plan.incremental || !inherits) {
        what = present && !zero ? Data : Nothing;
      } else if (by_uffd) {
        if (was_zapped) {
          what = ZeroFill;
        } else if (was_written) {
          what = present && !zero ? Data : ZeroFill;
        }
      } else if (by_hash) {
        uint64_t before = previous_hash(plan, *p, address, &hash_cursor);
        uint64_t now = present && !zero ? (hash != 0 ? hash : 1) : 0;
        if (now != before) {
          what = now != 0 ? Data : ZeroFill;
        }
      } else {
        what = present && !zero ? Data : ZeroFill;  // not tracked: stated whole
      }
      if (what != Nothing && add_run(arena, r, out, address, what == ZeroFill) != 0) {
        keep_first_why(why, why_size, "memory too fragmented for the page-run table");
        rc = -E2BIG;
      }
    }
    done += batch;
  }
  if (made_readable) {
    mprotect(reinterpret_cast<void*>(start), end - start, mmap_prot(r.record.prot));
  }
  return rc;
}

}  // namespace

int scan_pages_tracked(CaptureArena& arena, MemoryCapture& out, const IncrementalPlan& plan, char* why,
                       size_t why_size) {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) {
    keep_first_why(why, why_size, "cannot open /proc/self/pagemap");
    return -errno;
  }
  out.run_count = 0;
  out.pages_saved = 0;
  RangeCursor written{plan.written, plan.written_count};
  RangeCursor zapped{plan.zapped, plan.zapped_count};
  RangeCursor lost{plan.lost, plan.lost_count};
  PrevCursor prev{plan.prev, plan.prev_count};
  uint64_t hash_cursor = 0;
  uint32_t next_at = 0;
  int rc = 0;
  for (uint32_t i = 0; i < out.region_count && rc == 0; ++i) {
    CapturedRegion& r = arena.regions[i];
    r.record.flags &= image::kRegionAdvice;  // the advice stays (read_region_advice)
    if (!is_anonymous(r.record.kind)) {
      rc = scan_region(arena, r, out, pagemap, why, why_size);
      continue;
    }
    while (next_at < plan.next_count && plan.next[next_at].end <= r.record.start) {
      ++next_at;
    }
    TrackedRange* next =
        next_at < plan.next_count && plan.next[next_at].start == r.record.start ? &plan.next[next_at] : nullptr;
    rc = scan_anonymous(arena, r, out, plan, next, pagemap, written, zapped, lost, prev, hash_cursor, why, why_size);
  }
  close(pagemap);
  return rc;
}

}  // namespace crcore::runtime
