// Address-space capture (see memory_capture.h). RESTRICTED CODE: syscalls and plain data only.
#include "runtime/memory_capture.h"

#include "runtime/exclusions.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/dirty_tracker.h"
#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

// The excluded ranges plus the arena, sorted (a static table: this runs with threads stopped, and
// must not allocate). One map line becomes at most kMaxPieces regions.
ExcludedRange g_cuts[kMaxExcludedRanges + 1];
constexpr size_t kMaxPieces = 64;

constexpr uint64_t kPage = 4096;

bool starts_with(const char* s, const char* prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

bool ends_with(const char* s, size_t len, const char* suffix) {
  size_t n = strlen(suffix);
  return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

image::SpecialMapKind special_kind(const char* path) {
  if (strcmp(path, "[vvar]") == 0) {
    return image::SpecialMapKind::Vvar;
  }
  if (strcmp(path, "[vvar_vclock]") == 0) {
    return image::SpecialMapKind::VvarVclock;
  }
  if (strcmp(path, "[vdso]") == 0) {
    return image::SpecialMapKind::Vdso;
  }
  return image::SpecialMapKind::None;
}

void append_why(char* why, size_t size, const char* a, const char* b = "") {
  size_t used = strnlen(why, size);
  size_t la = strnlen(a, size), lb = strnlen(b, size);
  if (used + la + lb + 1 > size) {
    return;
  }
  memcpy(why + used, a, la);
  memcpy(why + used + la, b, lb);
  why[used + la + lb] = '\0';
}

bool region_has_pages(image::RegionKind kind) { return kind != image::RegionKind::FileShared; }

// Appends a page to the region's runs (merging with the last run when contiguous).
int add_page(CaptureArena& arena, CapturedRegion& r, MemoryCapture& out, uint64_t address) {
  PageRun* last = r.run_count > 0 ? &arena.runs[out.run_count - 1] : nullptr;
  if (last != nullptr && last->address + last->length == address && last->length < image::kMaxPagesPayload) {
    last->length += kPage;
  } else {
    if (out.run_count >= arena.run_capacity) {
      return -E2BIG;
    }
    arena.runs[out.run_count++] = {address, kPage};
    ++r.run_count;
  }
  ++r.record.pages_saved;
  ++out.pages_saved;
  return 0;
}

// A private mapping of a file that no longer exists: its file cannot give the pages back at
// restart, so every page with data is saved, touched or not. Pages are read with
// process_vm_readv, which reports a page past the end of the file (EFAULT) where a plain read
// would raise SIGBUS.
int scan_deleted_file(CaptureArena& arena, CapturedRegion& r, MemoryCapture& out, char* why, size_t why_size) {
  if ((r.record.prot & image::kProtRead) == 0) {
    return 0;  // never readable: nothing the program could have read from it
  }
  alignas(64) char page[kPage];
  pid_t self = getpid();
  for (uint64_t address = r.record.start; address < r.record.end; address += kPage) {
    struct iovec local = {page, kPage};
    struct iovec remote = {reinterpret_cast<void*>(address), kPage};
    if (process_vm_readv(self, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(kPage)) {
      break;  // past the end of the file
    }
    if (is_zero_page(page)) {
      continue;
    }
    if (add_page(arena, r, out, address) != 0) {
      append_why(why, why_size, "memory too fragmented for the page-run table");
      return -E2BIG;
    }
  }
  return 0;
}

}  // namespace

int capture_regions(CaptureArena& arena, MemoryCapture& out, char* why, size_t why_size) {
  ssize_t len = read_file("/proc/self/maps", arena.maps_text, arena.maps_capacity);
  if (len < 0) {
    append_why(why, why_size, "cannot read /proc/self/maps");
    return static_cast<int>(len);
  }
  out.region_count = 0;
  out.special_count = 0;
  size_t cut_count = excluded_ranges(g_cuts, kMaxExcludedRanges);
  // The arena joins the sorted, disjoint cut list.
  ExcludedRange own = {reinterpret_cast<uint64_t>(arena.base), reinterpret_cast<uint64_t>(arena.base) + arena.size};
  size_t at = 0;
  while (at < cut_count && g_cuts[at].start < own.start) {
    ++at;
  }
  for (size_t i = cut_count; i > at; --i) {
    g_cuts[i] = g_cuts[i - 1];
  }
  g_cuts[at] = own;
  ++cut_count;
  char* line = arena.maps_text;
  while (*line != '\0') {
    char* eol = strchr(line, '\n');
    if (eol != nullptr) {
      *eol = '\0';
    }
    const char* p = line;
    uint64_t start = parse_number(&p, 16);
    ++p;  // '-'
    uint64_t end = parse_number(&p, 16);
    ++p;
    char perms[4] = {p[0], p[1], p[2], p[3]};
    p += 5;
    uint64_t offset = parse_number(&p, 16);
    ++p;
    uint64_t major = parse_number(&p, 16);
    ++p;
    uint64_t minor = parse_number(&p, 16);
    ++p;
    uint64_t inode = parse_number(&p, 10);
    while (*p == ' ') {
      ++p;
    }
    const char* path = p;
    size_t path_len = strlen(path);
    line = eol != nullptr ? eol + 1 : line + strlen(line);

    image::SpecialMapKind special = special_kind(path);
    if (special != image::SpecialMapKind::None) {
      if (out.special_count < image::kMaxSpecialMaps) {
        out.special[out.special_count++] = {start, end, static_cast<uint32_t>(special), 0};
      }
      continue;
    }
    if (strcmp(path, "[vsyscall]") == 0 || start >= image::kUserAddressLimit) {
      continue;
    }
    // The dirty tracker's mapping is a mapping of its own (shared, never merged with the
    // application's): left out whole.
    uint64_t tracker_start = 0, tracker_end = 0;
    tracker_mapping(&tracker_start, &tracker_end);
    if (tracker_start < end && start < tracker_end && tracker_start <= start && end <= tracker_end) {
      continue;
    }
    // Our own scratch arena and what a layer above asked to leave out (crcore_ext.h) are cut out
    // of the line: the kernel may have merged them with a neighbour of the same kind.
    uint64_t pieces[kMaxPieces][2];
    size_t piece_count = 0;
    uint64_t cursor = start;
    for (size_t i = 0; i < cut_count && cursor < end; ++i) {
      if (g_cuts[i].end <= cursor || g_cuts[i].start >= end) {
        continue;
      }
      if (g_cuts[i].start > cursor && piece_count < kMaxPieces) {
        pieces[piece_count][0] = cursor;
        pieces[piece_count++][1] = g_cuts[i].start;
      }
      if (g_cuts[i].end > cursor) {
        cursor = g_cuts[i].end;
      }
    }
    if (cursor < end && piece_count < kMaxPieces) {
      pieces[piece_count][0] = cursor;
      pieces[piece_count++][1] = end;
    }
    for (size_t k = 0; k < piece_count; ++k) {
      uint64_t* piece = pieces[k];
      if (piece[1] <= piece[0]) {
        continue;
      }
      if (out.region_count >= arena.region_capacity) {
        append_why(why, why_size, "too many memory regions");
        return -E2BIG;
      }
      CapturedRegion& r = arena.regions[out.region_count++];
      memset(&r, 0, sizeof r);
      r.record.start = piece[0];
      r.record.end = piece[1];
      r.record.file_offset = offset + (piece[0] - start);
      r.record.inode = inode;
      r.record.dev = makedev(major, minor);
      r.record.prot = (perms[0] == 'r' ? uint32_t{image::kProtRead} : 0u) |
                      (perms[1] == 'w' ? uint32_t{image::kProtWrite} : 0u) |
                      (perms[2] == 'x' ? uint32_t{image::kProtExec} : 0u);
      bool shared = perms[3] == 's';
      r.path = path;
      r.record.path_len = static_cast<uint32_t>(path_len);
      image::RegionKind kind;
      if (strcmp(path, "[heap]") == 0) {
        kind = image::RegionKind::Heap;
      } else if (strcmp(path, "[stack]") == 0) {
        kind = image::RegionKind::Stack;
      } else if (path_len == 0 || path[0] == '[') {
        kind = shared ? image::RegionKind::AnonShared : image::RegionKind::AnonPrivate;
      } else if (inode == 0 || starts_with(path, "/dev/zero") || starts_with(path, "/SYSV") ||
                 starts_with(path, "/memfd:")) {
        kind = shared ? image::RegionKind::AnonShared : image::RegionKind::AnonPrivate;
      } else if (ends_with(path, path_len, " (deleted)")) {
        kind = shared ? image::RegionKind::AnonShared : image::RegionKind::DeletedFile;
      } else {
        kind = shared ? image::RegionKind::FileShared : image::RegionKind::FilePrivate;
        struct stat st;
        if (stat(path, &st) == 0) {
          r.record.file_size = static_cast<uint64_t>(st.st_size);
        }
      }
      r.record.kind = static_cast<uint32_t>(kind);
    }
  }
  return 0;
}

int read_page_entries(int pagemap, uint64_t address, uint64_t count, bool shared, uint64_t* entries) {
  off_t where = static_cast<off_t>(address / kPage * sizeof(uint64_t));
  if (pread(pagemap, entries, count * sizeof(uint64_t), where) != static_cast<ssize_t>(count * sizeof(uint64_t))) {
    return errno != 0 ? -errno : -EIO;
  }
  if (!shared) {
    return 0;
  }
  static unsigned char resident[4096];  // single-threaded: the stopped process, or its writer
  for (uint64_t done = 0; done < count;) {
    uint64_t chunk = count - done < sizeof resident ? count - done : sizeof resident;
    if (mincore(reinterpret_cast<void*>(address + done * kPage), chunk * kPage, resident) != 0) {
      return -errno;
    }
    for (uint64_t k = 0; k < chunk; ++k) {
      if ((resident[k] & 1) != 0) {
        entries[done + k] |= kPagemapPresent;
      }
    }
    done += chunk;
  }
  return 0;
}

int scan_region(CaptureArena& arena, CapturedRegion& r, MemoryCapture& out, int pagemap, char* why, size_t why_size) {
  r.first_run = static_cast<uint32_t>(out.run_count);
  r.run_count = 0;
  auto kind = static_cast<image::RegionKind>(r.record.kind);
  if (!region_has_pages(kind)) {
    return 0;
  }
  if (kind == image::RegionKind::DeletedFile) {
    return scan_deleted_file(arena, r, out, why, why_size);
  }
  int rc = 0;
  bool file_private = kind == image::RegionKind::FilePrivate;
  // A staged copy (private, readable) stands for the region: its pages are the ones the region held.
  bool staged = r.source_delta != 0;
  bool shared = kind == image::RegionKind::AnonShared && !staged;
  bool readable = staged || (r.record.prot & image::kProtRead) != 0;
  bool made_readable = false;
  uint64_t pages = (r.record.end - r.record.start) / kPage;
  for (uint64_t done = 0; done < pages && rc == 0;) {
    uint64_t batch = pages - done;
    if (batch > arena.pagemap_capacity) {
      batch = arena.pagemap_capacity;
    }
    rc = read_page_entries(pagemap, r.record.start + r.source_delta + done * kPage, batch, shared, arena.pagemap);
    if (rc != 0) {
      append_why(why, why_size, "cannot read /proc/self/pagemap");
      break;
    }
    for (uint64_t k = 0; k < batch; ++k) {
      uint64_t entry = arena.pagemap[k];
      prefetch_ahead(arena.pagemap, k, batch, r.record.start + r.source_delta + (done + k) * kPage);
      bool touched = page_entry_touched(entry);
      if (file_private && (entry & kPagemapPresent) != 0 && (entry & kPagemapFileOrSharedAnon) != 0) {
        touched = false;  // still the file's page: the file provides it at restart
      }
      if (!touched) {
        continue;
      }
      uint64_t address = r.record.start + (done + k) * kPage;
      if (!readable && !made_readable) {
        if (mprotect(reinterpret_cast<void*>(r.record.start), r.record.end - r.record.start, PROT_READ) != 0) {
          append_why(why, why_size, "cannot read a protected region");
          rc = -errno;
          break;
        }
        made_readable = true;
      }
      // A zero page can be left out only where the restart maps zeros: not over a file.
      if (!file_private && is_zero_page(reinterpret_cast<const void*>(address + r.source_delta))) {
        continue;
      }
      if (add_page(arena, r, out, address) != 0) {
        append_why(why, why_size, "memory too fragmented for the page-run table");
        rc = -E2BIG;
        break;
      }
    }
    done += batch;
  }
  if (made_readable) {
    mprotect(reinterpret_cast<void*>(r.record.start), r.record.end - r.record.start, mmap_prot(r.record.prot));
  }
  return rc;
}

int scan_pages(CaptureArena& arena, MemoryCapture& out, char* why, size_t why_size) {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) {
    append_why(why, why_size, "cannot open /proc/self/pagemap");
    return -errno;
  }
  out.run_count = 0;
  out.pages_saved = 0;
  int rc = 0;
  for (uint32_t i = 0; i < out.region_count && rc == 0; ++i) {
    rc = scan_region(arena, arena.regions[i], out, pagemap, why, why_size);
  }
  close(pagemap);
  return rc;
}

}  // namespace crcore::runtime
