// Fault injection (see fault_injection.h).
#include "runtime/fault_injection.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace crcore::runtime {

FaultPoint g_fault_point = FaultPoint::None;

namespace {

struct FaultName {
  const char* name;
  FaultPoint point;
};

constexpr FaultName kFaultNames[] = {
    {"writer-before-records", FaultPoint::WriterBeforeRecords},
    {"writer-mid-pages", FaultPoint::WriterMidPages},
    {"writer-before-fsync", FaultPoint::WriterBeforeFsync},
    {"writer-after-fsync", FaultPoint::WriterAfterFsync},
    {"write-eio", FaultPoint::WriteEio},
};

}  // namespace

void load_fault_injection() {
  const char* env = getenv("CRCORE_FAULT");
  if (env == nullptr || *env == '\0') {
    return;
  }
  for (const FaultName& f : kFaultNames) {
    if (strcmp(env, f.name) == 0) {
      g_fault_point = f.point;
      fprintf(stderr, "crcore: process %d: fault injection armed: %s\n", getpid(), env);
      return;
    }
  }
  fprintf(stderr, "crcore: CRCORE_FAULT=%s is not a fault point; ignored\n", env);
}

// Async-signal-safe: raw syscalls only. In the copy-on-write writer getpid() is the writer's own.
void fault_kill_here(FaultPoint) { syscall(SYS_kill, syscall(SYS_getpid), SIGKILL); }

}  // namespace crcore::runtime
