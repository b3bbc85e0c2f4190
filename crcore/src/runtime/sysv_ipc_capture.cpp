// sysv_ipc_capture.h. RESTRICTED CODE: syscalls and plain data only.
#include "runtime/sysv_ipc_capture.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/runtime_state.h"
#include "runtime/safe_io.h"
#include "runtime/sysv_ipc_calls.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

namespace crcore::runtime {
namespace {

constexpr size_t kMaxObjects = 256;

// A refusal's text, built in why (cr_checkpoint puts the process's pid before it).
class Why {
 public:
  Why(char* out, size_t size) : out_(out), size_(size) { out_[0] = '\0'; }
  Why& put(const char* s) {
    size_t n = strlen(s);
    if (used_ + n + 1 > size_) {
      n = size_ - used_ - 1;
    }
    memcpy(out_ + used_, s, n);
    used_ += n;
    out_[used_] = '\0';
    return *this;
  }
  Why& number(int64_t v) {
    char digits[24] = {0};
    if (v < 0) {
      put("-");
      v = -v;
    }
    append_decimal(digits, static_cast<uint64_t>(v));
    return put(digits);
  }
  Why& hex(uint32_t v) {
    char digits[16] = "0x";
    const char* x = "0123456789abcdef";
    int n = 2;
    for (int shift = 28; shift >= 0; shift -= 4) {
      if ((v >> shift) != 0 || shift == 0) {
        digits[n++] = x[(v >> shift) & 0xf];
      }
    }
    digits[n] = '\0';
    return put(digits);
  }

 private:
  char* out_;
  size_t size_;
  size_t used_ = 0;
};

long raw_semctl(int id, int num, int cmd, void* arg) { return syscall(SYS_semctl, id, num, cmd, arg); }

int capture_semaphores(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size) {
  int32_t ids[kMaxObjects];
  size_t count = sysv_used_ids(SysvKind::Semaphore, ids, kMaxObjects);
  for (size_t i = 0; i < count; ++i) {
    struct semid_ds ds {};
    if (raw_semctl(ids[i], 0, IPC_STAT, &ds) != 0) {
      continue;  // removed since (or no longer readable): nothing the process holds
    }
    image::SysvSemResource s{};
    s.id = ids[i];
    s.key = ds.sem_perm.__key;
    s.mode = ds.sem_perm.mode & 0777;
    s.uid = ds.sem_perm.uid;
    s.gid = ds.sem_perm.gid;
    s.nsems = static_cast<uint32_t>(ds.sem_nsems);
    size_t values = size_t{s.nsems} * 2;
    size_t head = sizeof(image::ResourceHeader) + sizeof s;
    if (list.count >= kMaxResources || head + values > arena.data_capacity - data_used) {
      return -ENOBUFS;
    }
    // GETALL straight into the record's place in the pool, then the headers before it.
    char* out = arena.data + data_used;
    if (raw_semctl(s.id, 0, GETALL, out + head) != 0) {
      int e = errno;
      Why(why, why_size)
          .put("SysV semaphore set ")
          .number(s.id)
          .put(": cannot read its values (GETALL), errno ")
          .number(e);
      return -e;
    }
    image::ResourceHeader h{};
    h.type = static_cast<uint32_t>(image::ResourceType::SysvSem);
    h.fd = -1;
    h.length = sizeof s + values;
    memcpy(out, &h, sizeof h);
    memcpy(out + sizeof h, &s, sizeof s);
    list.offset[list.count] = data_used;
    list.length[list.count] = sizeof h + h.length;
    ++list.count;
    data_used += sizeof h + h.length;
  }
  return 0;
}

int capture_queues(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size) {
  int32_t ids[kMaxObjects];
  size_t count = sysv_used_ids(SysvKind::Queue, ids, kMaxObjects);
  for (size_t i = 0; i < count; ++i) {
    struct msqid_ds ds {};
    if (syscall(SYS_msgctl, ids[i], IPC_STAT, &ds) != 0) {
      continue;
    }
    image::SysvMsgResource q{};
    q.id = ids[i];
    q.key = ds.msg_perm.__key;
    q.mode = ds.msg_perm.mode & 0777;
    q.uid = ds.msg_perm.uid;
    q.gid = ds.msg_perm.gid;
    q.count = static_cast<uint32_t>(ds.msg_qnum);
    q.qbytes = ds.msg_qbytes;
    size_t head = sizeof(image::ResourceHeader) + sizeof q;
    if (list.count >= kMaxResources || head > arena.data_capacity - data_used) {
      return -ENOBUFS;
    }
    char* out = arena.data + data_used;
    size_t at = head;
    for (uint32_t m = 0; m < q.count; ++m) {
      // msgrcv writes the long mtype then the text: at + 8, so the text lands right after a
      // SysvMessageHeader at `at` (whose type and length are then written over the mtype).
      size_t room = arena.data_capacity - data_used - at;
      if (room < sizeof(image::SysvMessageHeader) + 1) {
        return -ENOBUFS;
      }
      long n = syscall(SYS_msgrcv, q.id, out + at + 8, room - 8 - 8, static_cast<long>(m), IPC_NOWAIT | MSG_COPY);
      if (n < 0) {
        int e = errno;
        if (e == E2BIG) {
          return -ENOBUFS;
        }
        Why w(why, why_size);
        w.put("SysV message queue ").number(q.id).put(" (key ").hex(static_cast<uint32_t>(q.key)).put(")");
        if (e == ENOSYS || e == EINVAL) {
          w.put(
              ": its messages cannot be read without taking them (msgrcv MSG_COPY needs a kernel with "
              "CONFIG_CHECKPOINT_RESTORE): not restored");
          return -ENOTSUP;
        }
        w.put(": message ").number(m).put(" of ").number(q.count);
        w.put(" cannot be copied (changed meanwhile?), errno ").number(e);
        return -ENOTSUP;
      }
      image::SysvMessageHeader mh{};
      memcpy(&mh.type, out + at + 8, sizeof mh.type);
      mh.length = static_cast<uint64_t>(n);
      memcpy(out + at, &mh, sizeof mh);
      at += sizeof mh + static_cast<size_t>(n);
    }
    image::ResourceHeader h{};
    h.type = static_cast<uint32_t>(image::ResourceType::SysvMsg);
    h.fd = -1;
    h.length = at - sizeof h;
    memcpy(out, &h, sizeof h);
    memcpy(out + sizeof h, &q, sizeof q);
    list.offset[list.count] = data_used;
    list.length[list.count] = at;
    ++list.count;
    data_used += at;
  }
  return 0;
}

}  // namespace

int capture_sysv_ipc(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size) {
  if (sysv_undo_in_flight()) {
    Why(why, why_size)
        .put(
            "a thread is inside a semop with SEM_UNDO (its undo adjustment is not known yet): SEM_UNDO "
            "adjustments are not restored");
    return -ENOTSUP;
  }
  int32_t id = 0;
  uint32_t semaphore = 0;
  int32_t adjustment = 0;
  if (sysv_pending_undo(&id, &semaphore, &adjustment)) {
    Why w(why, why_size);
    if (id < 0) {
      w.put("holds SEM_UNDO adjustments on too many semaphores to follow: SEM_UNDO adjustments are not restored");
    } else {
      w.put("SysV semaphore set ").number(id).put(", semaphore ").number(semaphore).put(": the process holds a ");
      w.put("SEM_UNDO adjustment of ").number(adjustment).put(" (semop with SEM_UNDO): SEM_UNDO adjustments are not ");
      w.put("restored");
    }
    return -ENOTSUP;
  }
  int rc = capture_semaphores(arena, data_used, list, why, why_size);
  if (rc == 0) {
    rc = capture_queues(arena, data_used, list, why, why_size);
  }
  return rc;
}

}  // namespace crcore::runtime
