// The kernel interfaces of dirty-page tracking that Debian 12's headers (Linux 6.1) do not have yet:
// userfaultfd's asynchronous write-protect (Linux 6.7) and the PAGEMAP_SCAN ioctl of
// /proc/PID/pagemap (Linux 6.7). The values are the kernel's uapi (include/uapi/linux/fs.h and
// userfaultfd.h); a kernel that lacks them refuses the feature or the ioctl, and the tracker falls
// back to hashing (see dirty_tracker.h).
#pragma once

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace crcore::runtime::uapi {

inline constexpr uint64_t kUffdFeatureWpUnpopulated = 1ull << 13;  // UFFD_FEATURE_WP_UNPOPULATED
inline constexpr uint64_t kUffdFeatureWpAsync = 1ull << 15;        // UFFD_FEATURE_WP_ASYNC
inline constexpr int kUffdUserModeOnly = 1;                        // UFFD_USER_MODE_ONLY

// PAGEMAP_SCAN page categories.
inline constexpr uint64_t kPageIsWritten = 1ull << 1;  // PAGE_IS_WRITTEN
inline constexpr uint64_t kPageIsPresent = 1ull << 3;  // PAGE_IS_PRESENT
inline constexpr uint64_t kPageIsSwapped = 1ull << 4;  // PAGE_IS_SWAPPED

// PAGEMAP_SCAN flags.
inline constexpr uint64_t kScanWpMatching = 1ull << 0;    // PM_SCAN_WP_MATCHING: write-protect what matches
inline constexpr uint64_t kScanCheckWpAsync = 1ull << 1;  // PM_SCAN_CHECK_WPASYNC: fail on a VMA without it

struct PageRegion {  // struct page_region
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};
static_assert(sizeof(PageRegion) == 24);

struct PmScanArg {  // struct pm_scan_arg
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
static_assert(sizeof(PmScanArg) == 96);

inline constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);  // PAGEMAP_SCAN

}  // namespace crcore::runtime::uapi
