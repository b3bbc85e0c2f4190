// sysv_ipc_restore.h.
#include "restart/sysv_ipc_restore.h"

#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "restart/restorer.h"
#include "restart/sysv_shm_restore.h"

namespace crcore::restart {
namespace {

union SemArgument {
  int value;
  struct semid_ds* stat;
  unsigned short* values;
};

std::string errno_text() { return strerror(errno); }

}  // namespace

// Creates an object whose id must be `wanted`: the id is asked of the kernel through `next_id_file`
// just before `create`. Another process creating an object of the same kind in between takes it:
// a few more tries.
int create_sysv_with_id(const std::string& what, const char* next_id_file, int wanted,
                        const std::function<int()>& create, const std::function<void(int)>& remove) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fd = open(next_id_file, O_WRONLY | O_CLOEXEC);
    std::string text = std::to_string(wanted) + "\n";
    if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      std::string why = errno_text();
      if (fd >= 0) {
        close(fd);
      }
      throw RestartError(what + ": cannot choose its id again (" + next_id_file + ": " + why +
                         "; this needs a kernel with CONFIG_CHECKPOINT_RESTORE and CAP_SYS_ADMIN)");
    }
    close(fd);
    int id = create();
    if (id < 0) {
      throw RestartError(what + ": cannot create it: " + errno_text());
    }
    if (id == wanted) {
      return id;
    }
    remove(id);  // another object took the id meanwhile: again
  }
  throw RestartError(what + ": the kernel did not give its id back (other processes kept taking it)");
}

namespace {

void restore_semaphores(const image::ResourceEntry& e) {
  image::SysvSemResource s;
  memcpy(&s, e.bytes.data(), sizeof s);
  std::vector<unsigned short> values(s.nsems);
  memcpy(values.data(), e.bytes.data() + sizeof s, values.size() * 2);
  std::string what = "SysV semaphore set " + std::to_string(s.id) + " (key " + hex(s.key) + ")";
  struct semid_ds ds {};
  SemArgument arg{};
  arg.stat = &ds;
  if (semctl(s.id, 0, IPC_STAT, arg) == 0) {
    if (ds.sem_perm.__key != s.key || ds.sem_nsems != s.nsems) {
      throw RestartError(what + ": its id now belongs to another set (key " + hex(ds.sem_perm.__key) + ", " +
                         std::to_string(ds.sem_nsems) + " semaphores)");
    }
  } else if (errno == EINVAL || errno == EIDRM) {
    if (s.key != IPC_PRIVATE) {
      int other = semget(s.key, 0, 0);
      if (other >= 0) {
        throw RestartError(what + ": its key now names set " + std::to_string(other));
      }
    }
    create_sysv_with_id(
        what, "/proc/sys/kernel/sem_next_id", s.id,
        [&] { return semget(s.key, static_cast<int>(s.nsems), IPC_CREAT | IPC_EXCL | static_cast<int>(s.mode)); },
        [](int id) { semctl(id, 0, IPC_RMID); });
    arg.stat = &ds;
    semctl(s.id, 0, IPC_STAT, arg);
  } else {
    throw RestartError(what + ": " + errno_text());
  }
  arg.values = values.data();
  if (semctl(s.id, 0, SETALL, arg) != 0) {
    throw RestartError(what + ": cannot set its values: " + errno_text());
  }
  ds.sem_perm.uid = s.uid;
  ds.sem_perm.gid = s.gid;
  ds.sem_perm.mode = static_cast<unsigned short>(s.mode);
  arg.stat = &ds;
  if (semctl(s.id, 0, IPC_SET, arg) != 0) {
    throw RestartError(what + ": cannot set its owner and mode: " + errno_text());
  }
}

void restore_queue(const image::ResourceEntry& e) {
  image::SysvMsgResource q;
  memcpy(&q, e.bytes.data(), sizeof q);
  std::string what = "SysV message queue " + std::to_string(q.id) + " (key " + hex(q.key) + ")";
  struct msqid_ds ds {};
  if (msgctl(q.id, IPC_STAT, &ds) == 0) {
    if (ds.msg_perm.__key != q.key) {
      throw RestartError(what + ": its id now belongs to another queue (key " + hex(ds.msg_perm.__key) + ")");
    }
    // Still there: emptied, to be refilled with the image's messages.
    std::vector<char> sink(sizeof(long) + 65536);
    while (msgrcv(q.id, sink.data(), sink.size() - sizeof(long), 0, IPC_NOWAIT | MSG_NOERROR) >= 0) {
    }
  } else if (errno == EINVAL || errno == EIDRM) {
    if (q.key != IPC_PRIVATE) {
      int other = msgget(q.key, 0);
      if (other >= 0) {
        throw RestartError(what + ": its key now names queue " + std::to_string(other));
      }
    }
    create_sysv_with_id(
        what, "/proc/sys/kernel/msg_next_id", q.id,
        [&] { return msgget(q.key, IPC_CREAT | IPC_EXCL | static_cast<int>(q.mode)); },
        [](int id) { msgctl(id, IPC_RMID, nullptr); });
    msgctl(q.id, IPC_STAT, &ds);
  } else {
    throw RestartError(what + ": " + errno_text());
  }
  ds.msg_perm.uid = q.uid;
  ds.msg_perm.gid = q.gid;
  ds.msg_perm.mode = static_cast<unsigned short>(q.mode);
  ds.msg_qbytes = q.qbytes;
  if (msgctl(q.id, IPC_SET, &ds) != 0) {
    throw RestartError(what + ": cannot set its owner, mode and byte limit: " + errno_text());
  }
  size_t at = sizeof q;
  for (uint32_t i = 0; i < q.count; ++i) {
    image::SysvMessageHeader m;
    memcpy(&m, e.bytes.data() + at, sizeof m);
    at += sizeof m;
    std::vector<char> message(sizeof(long) + m.length);
    long type = m.type;
    memcpy(message.data(), &type, sizeof type);
    memcpy(message.data() + sizeof type, e.bytes.data() + at, m.length);
    at += m.length;
    if (msgsnd(q.id, message.data(), m.length, IPC_NOWAIT) != 0) {
      throw RestartError(what + ": cannot queue message " + std::to_string(i) + " again: " + errno_text());
    }
  }
}

}  // namespace

void restore_sysv_objects(const std::vector<const image::Image*>& images) {
  std::set<int32_t> semaphores;
  std::set<int32_t> queues;
  std::map<int32_t, std::vector<SysvShmAttachment>> segments;
  for (const image::Image* image : images) {
    for (const auto& e : image->resources) {
      auto type = static_cast<image::ResourceType>(e.header.type);
      int32_t id = 0;
      if (type == image::ResourceType::SysvSem) {
        memcpy(&id, e.bytes.data(), sizeof id);
        if (semaphores.insert(id).second) {
          restore_semaphores(e);
        }
      } else if (type == image::ResourceType::SysvMsg) {
        memcpy(&id, e.bytes.data(), sizeof id);
        if (queues.insert(id).second) {
          restore_queue(e);
        }
      } else if (type == image::ResourceType::SysvShm) {
        SysvShmAttachment a{image, {}};
        memcpy(&a.record, e.bytes.data(), sizeof a.record);
        segments[a.record.id].push_back(a);
      }
    }
  }
  for (const auto& [id, attachments] : segments) {
    restore_sysv_segment(attachments);  // sysv_shm_restore.h: once, filled from all its attachments
  }
}

}  // namespace crcore::restart
