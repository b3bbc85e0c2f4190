// Resource capture (see resource_capture.h). RESTRICTED CODE: syscalls and plain data only.
#include "runtime/resource_capture.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/region_policy.h"
#include "runtime/runtime_state.h"
#include "runtime/safe_io.h"
#include "runtime/sysv_ipc_capture.h"
#include "runtime/sysv_shm_capture.h"
#include "runtime/topology.h"

namespace crcore::runtime {
namespace {

void set_why(char* why, size_t size, const char* a, uint64_t number, const char* b) {
  size_t used = 0;
  auto put = [&](const char* s) {
    size_t n = strlen(s);
    if (used + n + 1 > size) {
      n = size - used - 1;
    }
    memcpy(why + used, s, n);
    used += n;
  };
  char digits[24] = {0};
  append_decimal(digits, number);
  put(a);
  put(digits);
  put(b);
  why[used] = '\0';
}

int64_t to_ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }
int64_t to_ns(const struct timeval& t) { return int64_t{t.tv_sec} * 1000000000 + int64_t{t.tv_usec} * 1000; }

const char* skip_to(const char* p, const char* end, const char* word) {
  size_t n = strlen(word);
  for (; p + n <= end; ++p) {
    if (memcmp(p, word, n) == 0) {
      return p + n;
    }
  }
  return nullptr;
}

// /proc/self/timers: "ID: n", "signal: s/value", "notify: signal/pid.n | none/pid.n | thread/tid.n
// | signal/tid.n", "ClockID: c", one block per timer.
int capture_posix_timers(CaptureArena& arena, size_t& data_used, ResourceList& list, char* why, size_t why_size) {
  char* text = arena.data + data_used;
  size_t room = arena.data_capacity - data_used;
  ssize_t n = read_file("/proc/self/timers", text, room);
  if (n == -ENOENT) {
    return 0;  // a kernel without CONFIG_CHECKPOINT_RESTORE has no /proc/PID/timers: no timers known
  }
  if (n < 0) {
    return n == -EFBIG ? -ENOBUFS : static_cast<int>(n);
  }
  // The text is parsed in place, then overwritten by the entries: parse into a small table first.
  image::PosixTimerResource timers[64];
  uint32_t count = 0;
  const char* end = text + n;
  // "ID: " at the start of a line ("ClockID: " has it too).
  const char* first = n >= 4 && memcmp(text, "ID: ", 4) == 0 ? text + 4 : skip_to(text, end, "\nID: ");
  for (const char* p = first; p != nullptr; p = skip_to(p, end, "\nID: ")) {
    if (count == 64) {
      set_why(why, why_size, "more than ", 64, " POSIX timers: not restored");
      return -ENOTSUP;
    }
    image::PosixTimerResource& t = timers[count++];
    memset(&t, 0, sizeof t);
    t.id = static_cast<int32_t>(parse_number(&p, 10));
    const char* s = skip_to(p, end, "signal: ");
    const char* notify = skip_to(p, end, "notify: ");
    const char* clock = skip_to(p, end, "ClockID: ");
    if (s == nullptr || notify == nullptr || clock == nullptr) {
      set_why(why, why_size, "cannot parse /proc/self/timers at timer ", static_cast<uint64_t>(t.id), "");
      return -EIO;
    }
    t.signal = static_cast<int32_t>(parse_number(&s, 10));
    if (*s == '/') {
      ++s;
      if (s + 1 < end && s[0] == '0' && s[1] == 'x') {
        s += 2;
      }
      t.value = parse_number(&s, 16);
    }
    t.clock = static_cast<int32_t>(parse_number(&clock, 10));
    if (strncmp(notify, "none", 4) == 0) {
      t.notify = image::kTimerNotifyNone;
    } else if (strncmp(notify, "signal/pid", 10) == 0) {
      t.notify = image::kTimerNotifySignal;
    } else {
      set_why(why, why_size, "POSIX timer ", static_cast<uint64_t>(t.id),
              " notifies a thread (SIGEV_THREAD or SIGEV_THREAD_ID): such timers are not restored");
      return -ENOTSUP;
    }
    struct itimerspec now;
    if (syscall(SYS_timer_gettime, t.id, &now) != 0) {
      set_why(why, why_size, "cannot read POSIX timer ", static_cast<uint64_t>(t.id), " (timer_gettime)");
      return -errno;
    }
    t.value_ns = to_ns(now.it_value);
    t.interval_ns = to_ns(now.it_interval);
  }
  for (uint32_t i = 0; i < count; ++i) {
    int rc = add_resource(arena, data_used, list, image::ResourceType::PosixTimer, -1, 0, &timers[i], sizeof timers[i]);
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

// A memfd both open as a descriptor and mapped shared would come back as two separate objects
// (the descriptor a new memfd, the mapping anonymous shared memory): refused. The maps text is
// read into the free end of the data pool (nothing is kept there).
int refuse_mapped_memfd(CaptureArena& arena, size_t data_used, char* why, size_t why_size) {
  char* text = arena.data + data_used;
  ssize_t n = read_file("/proc/self/maps", text, arena.data_capacity - data_used);
  if (n <= 0) {
    return 0;
  }
  for (const char* line = text; line < text + n;) {
    const char* end = static_cast<const char*>(memchr(line, '\n', static_cast<size_t>(text + n - line)));
    if (end == nullptr) {
      end = text + n;
    }
    const char* perms = static_cast<const char*>(memchr(line, ' ', static_cast<size_t>(end - line)));
    if (perms != nullptr && perms + 4 < end && perms[4] == 's' && skip_to(line, end, "/memfd:") != nullptr) {
      const char* message =
          "a memfd is both open and mapped shared: its descriptor and its mapping would come "
          "back apart (memfd mappings are not restored as the memfd)";
      size_t length = strlen(message) < why_size - 1 ? strlen(message) : why_size - 1;
      memcpy(why, message, length);
      why[length] = '\0';
      return -ENOTSUP;
    }
    line = end + 1;
  }
  return 0;
}

}  // namespace

int add_resource(CaptureArena& arena, size_t& data_used, ResourceList& list, image::ResourceType type, int fd, int tid,
                 const void* a, size_t a_length, const void* b, size_t b_length) {
  size_t total = sizeof(image::ResourceHeader) + a_length + b_length;
  if (list.count >= kMaxResources || total > arena.data_capacity - data_used) {
    return -ENOBUFS;
  }
  image::ResourceHeader h{};
  h.type = static_cast<uint32_t>(type);
  h.fd = fd;
  h.tid = tid;
  h.length = a_length + b_length;
  char* out = arena.data + data_used;
  memcpy(out, &h, sizeof h);
  if (a_length > 0) {
    memmove(out + sizeof h, a, a_length);
  }
  if (b_length > 0) {
    memmove(out + sizeof h + a_length, b, b_length);
  }
  list.offset[list.count] = data_used;
  list.length[list.count] = total;
  ++list.count;
  data_used += total;
  return 0;
}

int add_file_resource(CaptureArena& arena, size_t& data_used, ResourceList& list, image::ResourceType type, int fd,
                      const char* path, const char* prefix) {
  size_t head = sizeof(image::ResourceHeader);
  size_t prefix_length = strlen(prefix);
  if (list.count >= kMaxResources || head + prefix_length + 1 > arena.data_capacity - data_used) {
    return -ENOBUFS;
  }
  char* out = arena.data + data_used;
  memcpy(out + head, prefix, prefix_length);
  ssize_t n = read_file(path, out + head + prefix_length, arena.data_capacity - data_used - head - prefix_length);
  if (n < 0) {
    return n == -EFBIG ? -ENOBUFS : static_cast<int>(n);
  }
  image::ResourceHeader h{};
  h.type = static_cast<uint32_t>(type);
  h.fd = fd;
  h.length = prefix_length + static_cast<uint64_t>(n);
  memcpy(out, &h, sizeof h);
  list.offset[list.count] = data_used;
  list.length[list.count] = head + h.length;
  ++list.count;
  data_used += head + h.length;
  return 0;
}

int add_contents_resource(CaptureArena& arena, size_t& data_used, ResourceList& list, int fd, uint64_t size) {
  size_t head = sizeof(image::ResourceHeader);
  if (list.count >= kMaxResources || size > image::kMaxFdDataPayload || head + size > arena.data_capacity - data_used) {
    return -ENOBUFS;
  }
  char* out = arena.data + data_used;
  uint64_t got = 0;
  while (got < size) {
    ssize_t n = pread(fd, out + head + got, size - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -errno;
    }
    if (n == 0) {
      break;  // shrunk meanwhile
    }
    got += static_cast<uint64_t>(n);
  }
  image::ResourceHeader h{};
  h.type = static_cast<uint32_t>(image::ResourceType::FileContents);
  h.fd = fd;
  h.length = got;
  memcpy(out, &h, sizeof h);
  list.offset[list.count] = data_used;
  list.length[list.count] = head + got;
  ++list.count;
  data_used += head + got;
  return 0;
}

int refuse_thread_timers(char* why, size_t why_size) {
  char text[16384];
  ssize_t n = read_file("/proc/self/timers", text, sizeof text);
  if (n <= 0) {
    return 0;
  }
  const char* end = text + n;
  uint64_t id = 0;
  for (const char* line = text; line < end;) {
    const char* next = static_cast<const char*>(memchr(line, '\n', static_cast<size_t>(end - line)));
    next = next == nullptr ? end : next + 1;
    if (strncmp(line, "ID: ", 4) == 0) {
      const char* p = line + 4;
      id = parse_number(&p, 10);
    } else if (strncmp(line, "notify: ", 8) == 0 && strncmp(line + 8, "none/", 5) != 0 &&
               strncmp(line + 8, "signal/pid", 10) != 0) {
      set_why(why, why_size, "POSIX timer ", id,
              " notifies a thread (SIGEV_THREAD or SIGEV_THREAD_ID): such timers are not restored");
      return -ENOTSUP;
    }
    line = next;
  }
  return 0;
}

void describe_memory_policy(image::MemPolicyResource& policy) {
  memset(&policy, 0, sizeof policy);
  int mode = 0;
  if (syscall(SYS_get_mempolicy, &mode, policy.nodes, sizeof policy.nodes * 8, nullptr, 0) != 0) {
    policy.mode = -1;
    return;
  }
  policy.mode = mode;
}

void describe_prctl(image::PrctlResource& p) {
  memset(&p, 0, sizeof p);
  int value = 0;
  prctl(PR_GET_PDEATHSIG, &value, 0, 0, 0);
  p.pdeath_signal = value;
  p.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  value = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0);
  p.child_subreaper = value;
  p.no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  p.timer_slack_ns = slack > 0 ? static_cast<uint64_t>(slack) : 0;
}

int capture_process_resources(CaptureArena& arena, size_t& data_used, ResourceList& list, bool has_memfd, char* why,
                              size_t why_size) {
  int rc = capture_sysv_shm(arena, data_used, list, why, why_size);  // SysV shared memory attachments
  if (rc == 0 && has_memfd) {
    rc = refuse_mapped_memfd(arena, data_used, why, why_size);
  }
  if (rc == 0) {
    rc = capture_posix_timers(arena, data_used, list, why, why_size);
  }
  if (rc == 0) {
    rc = capture_sysv_ipc(arena, data_used, list, why, why_size);  // semaphore sets, message queues
  }
  if (rc == 0) {
    rc = capture_region_policies(arena, data_used, list, why, why_size);  // mbind policies
  }
  for (int which = ITIMER_REAL; rc == 0 && which <= ITIMER_PROF; ++which) {
    struct itimerval v;
    if (getitimer(static_cast<__itimer_which>(which), &v) != 0 ||
        (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0 && v.it_interval.tv_sec == 0 &&
         v.it_interval.tv_usec == 0)) {
      continue;
    }
    image::IntervalTimerResource t{};
    t.which = static_cast<uint32_t>(which);
    t.value_ns = to_ns(v.it_value);
    t.interval_ns = to_ns(v.it_interval);
    rc = add_resource(arena, data_used, list, image::ResourceType::IntervalTimer, -1, 0, &t, sizeof t);
  }
  if (rc == 0) {
    // The main thread's (the restart's leader takes them, and every thread it creates inherits them).
    const image::PrctlResource* p = &g_runtime.manager_slot.prctl;
    for (uint32_t i = 0; i < g_runtime.slot_count; ++i) {
      if (g_runtime.slots[i].state.load() == static_cast<uint32_t>(SlotState::Parked) &&
          (g_runtime.slots[i].record.flags & image::kThreadMain) != 0) {
        p = &g_runtime.slots[i].prctl;
      }
    }
    rc = add_resource(arena, data_used, list, image::ResourceType::Prctl, -1, 0, p, sizeof *p);
  }
  for (uint32_t i = 0; rc == 0 && i <= g_runtime.slot_count; ++i) {
    // Every parked thread, then the manager (as the image's Thread records).
    ThreadSlot& slot = i < g_runtime.slot_count ? g_runtime.slots[i] : g_runtime.manager_slot;
    if (i < g_runtime.slot_count && slot.state.load() != static_cast<uint32_t>(SlotState::Parked)) {
      continue;
    }
    int tid = slot.record.tid;
    uint64_t mask[16];
    long n = syscall(SYS_sched_getaffinity, tid, sizeof mask, mask);
    if (n > 0) {
      rc = add_resource(arena, data_used, list, image::ResourceType::Affinity, -1, tid, mask, static_cast<size_t>(n));
    }
    if (rc == 0 && slot.memory_policy.mode >= 0) {
      rc = add_resource(arena, data_used, list, image::ResourceType::MemPolicy, -1, tid, &slot.memory_policy,
                        sizeof slot.memory_policy);
    }
  }
  size_t xml_length = 0;
  const char* xml = topology_xml(&xml_length);
  if (rc == 0 && xml != nullptr) {
    rc = add_resource(arena, data_used, list, image::ResourceType::Topology, -1, 0, xml, xml_length);
  }
  if (rc == -ENOBUFS) {
    set_why(why, why_size, "the process's resources do not fit the checkpoint's buffer (", data_used, " bytes used)");
  }
  return rc;
}

}  // namespace crcore::runtime
