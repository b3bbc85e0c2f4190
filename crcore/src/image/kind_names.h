// Names of the format's kinds, for tools and error messages ("Thread", "anon-private", "pipe-read").
#pragma once

#include <string_view>

#include "image/format.h"

namespace crcore::image {

constexpr std::string_view record_kind_name(RecordKind kind) {
  switch (kind) {
    case RecordKind::Process:
      return "Process";
    case RecordKind::Mm:
      return "Mm";
    case RecordKind::Thread:
      return "Thread";
    case RecordKind::Region:
      return "Region";
    case RecordKind::Pages:
      return "Pages";
    case RecordKind::Fd:
      return "Fd";
    case RecordKind::FdData:
      return "FdData";
    case RecordKind::SigActions:
      return "SigActions";
    case RecordKind::Rlimits:
      return "Rlimits";
    case RecordKind::Resource:
      return "Resource";
    case RecordKind::End:
      return "End";
  }
  return "unknown";
}

constexpr std::string_view region_kind_name(RegionKind kind) {
  switch (kind) {
    case RegionKind::AnonPrivate:
      return "anon-private";
    case RegionKind::AnonShared:
      return "anon-shared";
    case RegionKind::FilePrivate:
      return "file-private";
    case RegionKind::FileShared:
      return "file-shared";
    case RegionKind::Heap:
      return "heap";
    case RegionKind::Stack:
      return "stack";
    case RegionKind::DeletedFile:
      return "deleted-file";
  }
  return "unknown";
}

constexpr std::string_view fd_kind_name(FdKind kind) {
  switch (kind) {
    case FdKind::RegularFile:
      return "file";
    case FdKind::Directory:
      return "directory";
    case FdKind::CharDevice:
      return "char-device";
    case FdKind::Tty:
      return "tty";
    case FdKind::PipeRead:
      return "pipe-read";
    case FdKind::PipeWrite:
      return "pipe-write";
    case FdKind::Socket:
      return "socket";
    case FdKind::Other:
      return "other";
    case FdKind::UnixPair:
      return "unix-pair";
    case FdKind::EventFd:
      return "eventfd";
    case FdKind::TimerFd:
      return "timerfd";
    case FdKind::SignalFd:
      return "signalfd";
    case FdKind::Epoll:
      return "epoll";
    case FdKind::Inotify:
      return "inotify";
    case FdKind::Memfd:
      return "memfd";
    case FdKind::DeletedFile:
      return "deleted-file";
    case FdKind::Fifo:
      return "fifo";
    case FdKind::UnixListen:
      return "unix-listen";
    case FdKind::UnixBound:
      return "unix-bound";
    case FdKind::PtyMaster:
      return "pty-master";
    case FdKind::PtySlave:
      return "pty-slave";
  }
  return "unknown";
}

constexpr std::string_view resource_type_name(ResourceType type) {
  switch (type) {
    case ResourceType::FdInfo:
      return "fdinfo";
    case ResourceType::FileContents:
      return "file-contents";
    case ResourceType::PosixTimer:
      return "posix-timer";
    case ResourceType::IntervalTimer:
      return "itimer";
    case ResourceType::Prctl:
      return "prctl";
    case ResourceType::Affinity:
      return "affinity";
    case ResourceType::MemPolicy:
      return "mempolicy";
    case ResourceType::Topology:
      return "topology";
    case ResourceType::Terminal:
      return "terminal";
    case ResourceType::SysvSem:
      return "sysv-sem";
    case ResourceType::SysvMsg:
      return "sysv-msg";
    case ResourceType::RegionMemPolicy:
      return "region-mempolicy";
    case ResourceType::SysvShm:
      return "sysv-shm";
  }
  return "unknown";
}

constexpr std::string_view socket_type_name(SocketType type) {
  switch (type) {
    case kSocketStream:
      return "stream";
    case kSocketDgram:
      return "dgram";
    case kSocketSeqpacket:
      return "seqpacket";
  }
  return "unknown";
}

constexpr std::string_view special_map_name(SpecialMapKind kind) {
  switch (kind) {
    case SpecialMapKind::None:
      return "none";
    case SpecialMapKind::Vvar:
      return "vvar";
    case SpecialMapKind::VvarVclock:
      return "vvar-vclock";
    case SpecialMapKind::Vdso:
      return "vdso";
  }
  return "unknown";
}

// The RegionFlag advice bits by the names /proc/PID/smaps gives them in VmFlags ("hg", "dc", ...): the
// runtime reads them there, cr_info prints them.
struct RegionAdviceName {
  uint32_t bit;
  char name[3];
};
inline constexpr RegionAdviceName kRegionAdviceNames[] = {
    {kRegionHugePage, "hg"},   {kRegionNoHugePage, "nh"}, {kRegionDontFork, "dc"},
    {kRegionWipeOnFork, "wf"}, {kRegionDontDump, "dd"},   {kRegionMergeable, "mg"},
};

// Whether the raw value names a kind this version knows.
constexpr bool known(RecordKind kind) { return record_kind_name(kind) != "unknown"; }
constexpr bool known(RegionKind kind) { return region_kind_name(kind) != "unknown"; }
constexpr bool known(FdKind kind) { return fd_kind_name(kind) != "unknown"; }
constexpr bool known(SocketType type) { return socket_type_name(type) != "unknown"; }
constexpr bool known(ResourceType type) { return resource_type_name(type) != "unknown"; }

}  // namespace crcore::image
