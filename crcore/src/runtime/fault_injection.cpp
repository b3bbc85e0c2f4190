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

FaultPoint g_armed = FaultPoint::None;
unsigned long g_strike_at = 1;  // the checkpoint it strikes in
unsigned long g_checkpoints = 0;

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
    {"target-phase1", FaultPoint::TargetPhase1},
    {"target-phase2", FaultPoint::TargetPhase2},
    {"target-after-write", FaultPoint::TargetAfterWrite},
};

// CRCORE_FAULT_RANK=R: whether this process is MPI rank R (true when it is not set).
bool chosen_rank() {
  const char* want = getenv("CRCORE_FAULT_RANK");
  if (want == nullptr || *want == '\0') {
    return true;
  }
  const char* rank = getenv("OMPI_COMM_WORLD_RANK");
  if (rank == nullptr) {
    rank = getenv("PMIX_RANK");
  }
  return rank != nullptr && strcmp(rank, want) == 0;
}

}  // namespace

void load_fault_injection() {
  const char* env = getenv("CRCORE_FAULT");
  if (env == nullptr || *env == '\0' || strncmp(env, "requester-", 10) == 0 || strncmp(env, "mpi-", 4) == 0) {
    return;  // requester-*: cr_checkpoint's own fault points; mpi-*: the MPI layer's (libcrmpi)
  }
  if (!chosen_rank()) {
    return;
  }
  const char* at = strchr(env, '@');
  size_t name_length = at != nullptr ? static_cast<size_t>(at - env) : strlen(env);
  if (at != nullptr) {
    g_strike_at = strtoul(at + 1, nullptr, 10);
  }
  for (const FaultName& f : kFaultNames) {
    if (strlen(f.name) == name_length && strncmp(env, f.name, name_length) == 0 && g_strike_at > 0) {
      g_armed = f.point;
      fprintf(stderr, "crcore: process %d: fault injection armed: %s\n", getpid(), env);
      return;
    }
  }
  fprintf(stderr, "crcore: CRCORE_FAULT=%s is not a fault point; ignored\n", env);
}

void fault_next_checkpoint() {
  if (g_armed != FaultPoint::None) {
    g_fault_point = ++g_checkpoints == g_strike_at ? g_armed : FaultPoint::None;
  }
}

// Async-signal-safe: raw syscalls only. In the copy-on-write writer getpid() is the writer's own.
void fault_kill_here(FaultPoint) { syscall(SYS_kill, syscall(SYS_getpid), SIGKILL); }

}  // namespace crcore::runtime
