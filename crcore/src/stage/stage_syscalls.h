// The raw system calls the restart stage uses, and nothing else: the stage has no libc.
// RESTRICTED CODE: see stage.cpp.
#pragma once

#include <cstdint>

namespace crcore::stage {

enum Sys : long {
  kSysRead = 0,
  kSysWrite = 1,
  kSysPread64 = 17,
  kSysClose = 3,
  kSysMmap = 9,
  kSysMprotect = 10,
  kSysMunmap = 11,
  kSysRtSigprocmask = 14,
  kSysSchedYield = 24,
  kSysMremap = 25,
  kSysMadvise = 28,
  kSysGetpid = 39,
  kSysExit = 60,
  kSysWait4 = 61,
  kSysPrctl = 157,
  kSysArchPrctl = 158,
  kSysGettid = 186,
  kSysFutex = 202,
  kSysSchedSetaffinity = 203,
  kSysSetTidAddress = 218,
  kSysExitGroup = 231,
  kSysTgkill = 234,
  kSysSetMempolicy = 238,
  kSysSetRobustList = 273,
  kSysRseq = 334,
  kSysClone3 = 435,
  kSysCloseRange = 436,
};

inline long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

}  // namespace crcore::stage

extern "C" {
// stage_asm.S
long stage_clone(unsigned long flags, void* stack, int* parent_tid, int* child_tid, unsigned long tls,
                 void (*fn)(void*), void* arg);
[[noreturn]] void stage_resume_context(const crcore::image::SavedContext* context);
// clone3(args, size); the child pops fn and arg from the top of its stack and calls fn(arg).
long stage_clone3(void* args, unsigned long size);
}
