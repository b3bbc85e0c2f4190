// Memory advice of the captured regions (see region_advice.h). Everything but find_fork_advice is
// RESTRICTED CODE: syscalls and plain data only (it runs while the threads are stopped, or in the
// copy-on-write writer, the child of a multithreaded process).
#include "runtime/region_advice.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <type_traits>

#include "image/format.h"
#include "image/kind_names.h"
#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

void set_why(char* why, size_t size, const char* text) {
  size_t n = strnlen(text, size - 1);
  memcpy(why, text, n);
  why[n] = '\0';
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Kilobytes of a "Name:   1234 kB" line.
uint64_t kilobytes(const char* value) {
  while (*value == ' ') {
    ++value;
  }
  return parse_number(&value, 10);
}

// One mapping's lines of /proc/self/smaps at a time: calls on_mapping(start, end, advice bits) at
// each mapping's VmFlags line (on_mapping may take a fourth argument: the mapping's anonymous memory
// that is not in huge pages, in kB).
template <typename OnMapping>
class SmapsParser {
 public:
  explicit SmapsParser(OnMapping& on_mapping) : on_mapping_(on_mapping) {}

  // One line without its newline, NUL-terminated at eol.
  void line(const char* line, const char* eol) {
    if (is_hex(line[0])) {  // "start-end perms offset dev inode path"
      const char* p = line;
      start_ = parse_number(&p, 16);
      ++p;
      end_ = parse_number(&p, 16);
      in_mapping_ = true;
      anonymous_kb_ = huge_kb_ = 0;
    } else if (strncmp(line, "Anonymous:", 10) == 0) {
      anonymous_kb_ = kilobytes(line + 10);
    } else if (strncmp(line, "AnonHugePages:", 14) == 0) {
      huge_kb_ = kilobytes(line + 14);
    } else if (in_mapping_ && strncmp(line, "VmFlags:", 8) == 0) {
      uint32_t bits = advice_from_vmflags(line + 8, static_cast<size_t>(eol - line) - 8);
      if constexpr (std::is_invocable_v<OnMapping, uint64_t, uint64_t, uint32_t, uint64_t>) {
        on_mapping_(start_, end_, bits, anonymous_kb_ > huge_kb_ ? anonymous_kb_ - huge_kb_ : 0);
      } else {
        on_mapping_(start_, end_, bits);
      }
      in_mapping_ = false;
    }
  }

  // Every complete line of [text, text+size); returns where the incomplete rest begins.
  char* lines(char* text, size_t size) {
    char* line = text;
    char* eol = nullptr;
    while ((eol = static_cast<char*>(memchr(line, '\n', size - static_cast<size_t>(line - text)))) != nullptr) {
      *eol = '\0';
      this->line(line, eol);
      line = eol + 1;
    }
    return line;
  }

 private:
  OnMapping& on_mapping_;
  uint64_t start_ = 0, end_ = 0, anonymous_kb_ = 0, huge_kb_ = 0;
  bool in_mapping_ = false;
};

// Reads /proc/self/smaps line by line into a static buffer (one reader at a time: the checkpoint's
// manager thread, or the writer child), or parses `text` (the whole file read before, see
// smaps_prefetch.h) when given. 0 or -errno.
template <typename OnMapping>
int each_mapping(OnMapping on_mapping, SmapsText* text = nullptr) {
  SmapsParser<OnMapping> parser(on_mapping);
  if (text != nullptr) {
    parser.lines(text->data, text->size);  // a last line without a newline is never a VmFlags line
    return 0;
  }
  static char buffer[1 << 16];
  int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, buffer + used, sizeof buffer - 1 - used);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int error = errno;
      close(fd);
      return -error;
    }
    used += static_cast<size_t>(n);
    buffer[used] = '\0';
    char* line = parser.lines(buffer, used);
    size_t rest = used - static_cast<size_t>(line - buffer);
    if (n == 0) {
      break;  // a last line without a newline is never a VmFlags line of interest here
    }
    if (rest == sizeof buffer - 1) {
      close(fd);
      return -E2BIG;  // a line longer than the buffer: not smaps
    }
    memmove(buffer, line, rest);
    used = rest;
  }
  close(fd);
  return 0;
}

}  // namespace

uint32_t advice_from_vmflags(const char* flags, size_t length) {
  uint32_t bits = 0;
  size_t i = 0;
  while (i < length) {
    while (i < length && flags[i] == ' ') {
      ++i;
    }
    size_t word = i;
    while (i < length && flags[i] != ' ') {
      ++i;
    }
    if (i - word == 2) {
      for (const image::RegionAdviceName& a : image::kRegionAdviceNames) {
        if (flags[word] == a.name[0] && flags[word + 1] == a.name[1]) {
          bits |= a.bit;
        }
      }
    }
  }
  return bits;
}

int find_fork_advice(std::vector<ForkAdvice>& out) {
  out.clear();
  return each_mapping([&](uint64_t start, uint64_t end, uint32_t bits) {
    bits &= image::kRegionDontFork | image::kRegionWipeOnFork;
    if (bits != 0) {
      out.push_back({start, end, bits});
    }
  });
}

int lift_fork_advice(const ForkAdvice* list, size_t count, char* why, size_t why_size) {
  for (size_t i = 0; i < count; ++i) {
    const ForkAdvice& a = list[i];
    void* at = reinterpret_cast<void*>(a.start);
    size_t length = a.end - a.start;
    bool ok = ((a.bits & image::kRegionDontFork) == 0 || madvise(at, length, MADV_DOFORK) == 0) &&
              ((a.bits & image::kRegionWipeOnFork) == 0 || madvise(at, length, MADV_KEEPONFORK) == 0);
    if (!ok) {
      int error = errno;
      restore_fork_advice(list, i + 1);
      set_why(why, why_size,
              "a mapping advised MADV_DONTFORK or MADV_WIPEONFORK changed while the checkpoint started (try again)");
      return -error;
    }
  }
  return 0;
}

void restore_fork_advice(const ForkAdvice* list, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const ForkAdvice& a = list[i];
    void* at = reinterpret_cast<void*>(a.start);
    size_t length = a.end - a.start;
    // Cannot fail for a mapping that the lift just found (the threads are still stopped).
    if ((a.bits & image::kRegionDontFork) != 0) {
      madvise(at, length, MADV_DONTFORK);
    }
    if ((a.bits & image::kRegionWipeOnFork) != 0) {
      madvise(at, length, MADV_WIPEONFORK);
    }
  }
}

int read_region_advice(CaptureArena& arena, MemoryCapture& memory, const ForkAdvice* lifted, size_t count,
                       bool in_fork_child, SmapsText* smaps, char* why, size_t why_size) {
  CapturedRegion* regions = arena.regions;
  uint32_t n = memory.region_count;
  for (uint32_t i = 0; i < n; ++i) {
    regions[i].record.flags &= ~image::kRegionAdvice;
  }
  // Both lists are sorted by address, and each region lies inside one mapping (a map line cut by
  // the exclusions): one merge pass. `seen` marks the regions that some mapping covers.
  static bool seen[image::kMaxRegions];
  memset(seen, 0, n * sizeof seen[0]);
  uint32_t first = 0;
  bool wiped_unexpectedly = false;
  int rc = each_mapping(
      [&](uint64_t start, uint64_t end, uint32_t bits) {
        // Advice lifted for this fork is gone from the writer's smaps (below); any other wipe-on-fork
        // mapping was advised after find_fork_advice, and its pages are zeros in this copy.
        wiped_unexpectedly = wiped_unexpectedly || (in_fork_child && (bits & image::kRegionWipeOnFork) != 0);
        while (first < n && regions[first].record.end <= start) {
          ++first;
        }
        for (uint32_t i = first; i < n && regions[i].record.start < end; ++i) {
          regions[i].record.flags |= bits;
          seen[i] = true;
        }
      },
      smaps);
  if (rc != 0) {
    set_why(why, why_size, "cannot read /proc/self/smaps");
    return rc;
  }
  // The lifted advice, region by region (lifting it may have merged a mapping with its neighbours in
  // this copy: the regions, captured before, still have the program's boundaries).
  first = 0;
  for (size_t k = 0; k < count; ++k) {
    while (first < n && regions[first].record.end <= lifted[k].start) {
      ++first;
    }
    for (uint32_t i = first; i < n && regions[i].record.start < lifted[k].end; ++i) {
      regions[i].record.flags |= lifted[k].bits;
    }
  }
  if (wiped_unexpectedly) {
    set_why(why, why_size, "a mapping was advised MADV_WIPEONFORK while the checkpoint started (try again)");
    return -EAGAIN;
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (!seen[i]) {
      set_why(why, why_size,
              in_fork_child ? "a mapping was advised MADV_DONTFORK while the checkpoint started (try again)"
                            : "a mapping is missing from /proc/self/smaps");
      return -EAGAIN;
    }
    // What the kernel allows only on private anonymous memory (DeletedFile regions are restored
    // anonymous but were file mappings here, where the kernel refuses it).
    if ((regions[i].record.flags & image::kRegionWipeOnFork) != 0 &&
        regions[i].record.kind != static_cast<uint32_t>(image::RegionKind::AnonPrivate) &&
        regions[i].record.kind != static_cast<uint32_t>(image::RegionKind::Heap) &&
        regions[i].record.kind != static_cast<uint32_t>(image::RegionKind::Stack)) {
      regions[i].record.flags &= ~image::kRegionWipeOnFork;
    }
  }
  return 0;
}

}  // namespace crcore::runtime

namespace crcore::runtime {

int collapse_split_huge_pages() {
  constexpr uint64_t kHuge = 2u << 20;
  constexpr int kMadvCollapse = 25;  // Linux 6.1 (older <sys/mman.h> lack the name)
  struct Range {
    uint64_t start, end;
  };
  std::vector<Range> split;
  int rc = each_mapping([&](uint64_t start, uint64_t end, uint32_t bits, uint64_t small_kb) {
    uint64_t first = (start + kHuge - 1) & ~(kHuge - 1), last = end & ~(kHuge - 1);
    if ((bits & image::kRegionHugePage) != 0 && small_kb * 1024 >= kHuge && first < last) {
      split.push_back({first, last});
    }
  });
  if (rc != 0) {
    return rc;
  }
  int collapsed = 0;
  for (const Range& r : split) {
    // Part of a range may fail (pages locked or changing, no huge page free): what succeeded stays.
    if (madvise(reinterpret_cast<void*>(r.start), r.end - r.start, kMadvCollapse) == 0) {
      ++collapsed;
    } else if (errno == EINVAL) {
      return -EINVAL;  // a kernel before 6.1
    }
  }
  return collapsed;
}

}  // namespace crcore::runtime
