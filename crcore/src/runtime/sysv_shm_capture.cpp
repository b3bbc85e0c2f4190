// sysv_shm_capture.h. RESTRICTED CODE: syscalls and plain data only.
#include "runtime/sysv_shm_capture.h"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/runtime_state.h"
#include "runtime/safe_io.h"

namespace crcore::runtime {
namespace {

constexpr size_t kMaxAttachments = 64;
constexpr uint64_t kPage = 4096;

struct Attachment {
  int32_t id;
  char perms[4];
  uint64_t start;
  uint64_t end;
};

void put(char* why, size_t size, size_t& used, const char* s) {
  size_t n = strlen(s);
  if (used + n + 1 > size) {
    n = size - used - 1;
  }
  memcpy(why + used, s, n);
  used += n;
  why[used] = '\0';
}

void put_number(char* why, size_t size, size_t& used, uint64_t v) {
  char digits[24] = {0};
  append_decimal(digits, v);
  put(why, size, used, digits);
}

// "process P: SysV shared memory segment ID" + what.
int refuse(char* why, size_t size, int32_t id, const char* what) {
  size_t used = 0;
  put(why, size, used, "process ");
  put_number(why, size, used, static_cast<uint64_t>(g_runtime.pid));
  put(why, size, used, ": SysV shared memory segment ");
  put_number(why, size, used, static_cast<uint64_t>(id));
  put(why, size, used, what);
  return -ENOTSUP;
}

bool starts_with(const char* s, const char* end, const char* prefix) {
  size_t n = strlen(prefix);
  return static_cast<size_t>(end - s) >= n && memcmp(s, prefix, n) == 0;
}

}  // namespace

int capture_sysv_shm(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size) {
  // The maps text goes into the free end of the pool; the attachments are collected first, so the
  // records written afterwards may overwrite it.
  char* text = arena.data + data_used;
  ssize_t n = read_file("/proc/self/maps", text, arena.data_capacity - data_used);
  if (n == -EFBIG) {
    return -ENOBUFS;
  }
  if (n <= 0) {
    return 0;
  }
  Attachment found[kMaxAttachments];
  size_t count = 0;
  for (const char* line = text; line < text + n;) {
    const char* eol = static_cast<const char*>(memchr(line, '\n', static_cast<size_t>(text + n - line)));
    if (eol == nullptr) {
      eol = text + n;
    }
    const char* p = line;
    line = eol + 1;
    uint64_t start = parse_number(&p, 16);
    ++p;
    uint64_t end = parse_number(&p, 16);
    ++p;
    if (eol - p < 5) {
      continue;
    }
    char perms[4] = {p[0], p[1], p[2], p[3]};
    p += 5;
    uint64_t offset = parse_number(&p, 16);
    ++p;
    parse_number(&p, 16);  // major:minor
    ++p;
    parse_number(&p, 16);
    ++p;
    uint64_t inode = parse_number(&p, 10);
    while (p < eol && *p == ' ') {
      ++p;
    }
    if (!starts_with(p, eol, "/SYSV")) {
      continue;
    }
    auto id = static_cast<int32_t>(inode);
    Attachment* last = count > 0 ? &found[count - 1] : nullptr;
    if (last != nullptr && last->id == id && last->end == start &&
        offset == last->end - last->start) {  // a piece of the same attachment (split mapping)
      if (memcmp(last->perms, perms, 3) != 0) {
        return refuse(why, why_size, id,
                      ": its attachment is split into pieces of different protections (mprotect): not restored");
      }
      last->end = end;
      continue;
    }
    if (offset != 0) {
      return refuse(why, why_size, id, ": only part of its attachment is still mapped (munmap): not restored");
    }
    if (count == kMaxAttachments) {
      return refuse(why, why_size, id, ": more SysV shared memory attachments than a checkpoint follows (64)");
    }
    found[count++] = {id, {perms[0], perms[1], perms[2], perms[3]}, start, end};
  }
  for (size_t i = 0; i < count; ++i) {
    const Attachment& a = found[i];
    struct shmid_ds ds {};
    if (syscall(SYS_shmctl, a.id, IPC_STAT, &ds) != 0) {
      return refuse(why, why_size, a.id, ": attached, but shmctl IPC_STAT fails on it: not restored");
    }
    image::SysvShmResource m{};
    m.id = a.id;
    m.key = ds.shm_perm.__key;
    m.mode = ds.shm_perm.mode & 0777;
    m.uid = ds.shm_perm.uid;
    m.gid = ds.shm_perm.gid;
    m.flags = (a.perms[1] != 'w' ? uint32_t{image::kSysvShmReadOnly} : 0u) |
              (a.perms[2] == 'x' ? uint32_t{image::kSysvShmExec} : 0u) |
              ((ds.shm_perm.mode & SHM_DEST) != 0 ? uint32_t{image::kSysvShmRemoved} : 0u);
    m.size = ds.shm_segsz;
    m.address = a.start;
    m.length = a.end - a.start;
    m.offset = 0;
    if (m.length != (m.size + kPage - 1) / kPage * kPage) {
      return refuse(why, why_size, a.id, ": only part of its attachment is still mapped (munmap): not restored");
    }
    int rc = add_resource(arena, data_used, list, image::ResourceType::SysvShm, -1, 0, &m, sizeof m, nullptr, 0);
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

}  // namespace crcore::runtime
