// The crcore image format: every on-disk structure, in one place.
//
// docs/image-format.md describes the same layout in prose; keep the two in step.
// Rules:
//   * Bump kImageVersion on every change to anything in this file.
//   * All integers are little-endian (the only supported architecture is x86-64).
//   * Structures are plain, fixed-size and free of implicit padding (static_asserts below).
//   * This header is included by async-signal-safe code (the runtime's writer) and by the
//     freestanding restart stage: no libc, no STL beyond <cstdint>/<cstddef>.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crcore::image {

inline constexpr char kFileMagic[8] = {'C', 'R', 'C', 'O', 'R', 'E', 'I', 'M'};
inline constexpr uint32_t kImageVersion = 6;
// The oldest version a reader still accepts: version 3 only added record kinds and FdKinds, version
// 4 only ResourceTypes (SysV semaphores and message queues, per-region memory policy), version 5 only
// RegionFlag bits (memory advice), version 6 only the RecordFlag kRecordShuffle8, so a version-2
// image is a valid version-6 image without them.
inline constexpr uint32_t kOldestImageVersion = 2;
inline constexpr uint32_t kArchX86_64 = 62;           // ELF e_machine EM_X86_64
inline constexpr uint32_t kRecordMagic = 0x43524352;  // "RCRC" little-endian

// The file starts with this header (72 bytes), followed by records until an End record.
struct FileHeader {
  char magic[8];          // kFileMagic
  uint32_t version;       // kImageVersion
  uint32_t header_size;   // sizeof(FileHeader)
  uint32_t arch;          // kArchX86_64
  uint32_t page_size;     // 4096
  uint64_t created_ns;    // CLOCK_REALTIME when the checkpoint was taken
  uint8_t image_id[16];   // random identity of this image
  uint8_t parent_id[16];  // identity of the image this one is incremental to; all zero: full image
  uint32_t flags;         // FileFlag bits
  uint32_t header_check;  // low 32 bits of XXH3-64 over the 68 bytes before this field
};
static_assert(sizeof(FileHeader) == 72);

enum FileFlag : uint32_t {
  kFileIncremental = 1u << 0,  // pages missing here come from the parent image
  kFileScopeMember = 1u << 1,  // one process of a scope (--tree/--pgid/--sid): see scope_index.h;
                               // a UnixPair end's peer may be in a sibling image of the scope
};

enum class RecordKind : uint16_t {
  Process = 1,     // ProcessRecord + strings
  Mm = 2,          // MmRecord
  Thread = 3,      // ThreadRecord
  Region = 4,      // RegionRecord + path
  Pages = 5,       // PagesHeader + raw page bytes (the page bytes may be zstd-compressed)
  Fd = 6,          // FdRecord + path
  FdData = 7,      // FdDataHeader + unread bytes (or messages) of a pipe or a socketpair end
  SigActions = 8,  // SigActionsRecord
  Rlimits = 9,     // RlimitsRecord
  Resource = 10,   // ResourceHeader + bytes: one resource the process holds (version 3)
  End = 0x7fff,    // EndRecord: the image is complete
};

enum RecordFlag : uint16_t {
  // Pages records only. The PagesHeader stays uncompressed (a reader checks the address without
  // decompressing); the page bytes after it are one zstd frame of PagesHeader.length bytes.
  // stored_size = 16 + frame size; raw_size = 16 + length.
  kRecordZstd = 1u << 0,
  // Pages records of incremental images only: these pages are zero now (whatever the parent chain
  // holds there). The payload is the PagesHeader alone: stored_size = raw_size = 16.
  kRecordZeroFill = 1u << 1,
  // With kRecordZstd only (version 6): the frame holds the page bytes byte-shuffled (byte_shuffle.h):
  // in each block of 64 KiB from the record's start (the last one shorter), byte k of every 8-byte
  // word is at k * (block length / 8) + the word's index in the block.
  kRecordShuffle8 = 1u << 2,
};

// Every record: this 40-byte header, then stored_size bytes of payload.
struct RecordHeader {
  uint32_t magic;         // kRecordMagic
  uint16_t kind;          // RecordKind
  uint16_t flags;         // RecordFlag bits
  uint32_t reserved;      // zero
  uint32_t header_check;  // low 32 bits of XXH3-64 over this header with header_check = 0
  uint64_t stored_size;   // payload bytes in the file
  uint64_t raw_size;      // payload bytes after decompression (== stored_size when not compressed)
  uint64_t payload_hash;  // XXH3-64 of the stored payload bytes
};
static_assert(sizeof(RecordHeader) == 40);

// Upper bounds a reader enforces before allocating (an absurd size is a damaged image).
inline constexpr uint64_t kMaxMetaPayload = 4u << 20;       // every record but Pages/FdData
inline constexpr uint64_t kMaxPagesPayload = 64ull << 20;   // PagesHeader.length of one Pages record
inline constexpr uint64_t kMaxFdDataPayload = 64ull << 20;  // FdDataHeader.length of one FdData record
inline constexpr uint32_t kMaxThreads = 4096;
inline constexpr uint32_t kMaxRegions = 1u << 16;
inline constexpr uint32_t kMaxFdNumber = 1u << 20;
inline constexpr uint64_t kUserAddressLimit = 0x7ffffffff000ull;  // 47-bit user space

// Variable-length strings follow a fixed struct in the order its *_len fields are listed.
// They are not NUL-terminated in the file.

struct ProcessRecord {
  int32_t pid;
  int32_t ppid;
  int32_t pgid;
  int32_t sid;
  uint32_t uid;
  uint32_t gid;
  uint32_t euid;
  uint32_t egid;
  uint32_t umask;
  uint32_t checkpoint_signal;  // the runtime's phase-2 signal number
  uint32_t thread_count;       // number of Thread records that follow
  uint32_t region_count;       // number of Region records that follow
  uint32_t fd_count;           // number of Fd records that follow
  uint32_t tid_offset;         // offset of glibc's cached tid inside struct pthread (from the thread pointer)
  uint32_t rseq_size;          // glibc __rseq_size (0: rseq not registered by glibc)
  int32_t rseq_offset;         // glibc __rseq_offset: rseq area = thread pointer + rseq_offset
  uint32_t rseq_signature;     // RSEQ_SIG
  uint32_t reserved0;
  uint64_t runtime_restart_block;  // address of the runtime's RestartBlock (written by the restart stage)
  uint64_t checkpoint_serial;      // how many checkpoints this process has taken (1 = first)
  uint32_t cwd_len;
  uint32_t exe_len;
  uint32_t cmdline_len;  // NUL-separated arguments
  uint32_t environ_len;  // NUL-separated environment
  uint32_t hostname_len;
  uint32_t kernel_len;  // uname -r of the checkpointing kernel
  // then: cwd, exe, cmdline, environ, hostname, kernel
};
static_assert(sizeof(ProcessRecord) == 112);

inline constexpr uint32_t kMaxAuxv = 64;
inline constexpr uint32_t kMaxSpecialMaps = 4;

enum class SpecialMapKind : uint32_t { None = 0, Vvar = 1, VvarVclock = 2, Vdso = 3 };

struct SpecialMap {
  uint64_t start;
  uint64_t end;
  uint32_t kind;  // SpecialMapKind
  uint32_t reserved;
};
static_assert(sizeof(SpecialMap) == 24);

// The kernel's view of the address space (prctl PR_SET_MM_MAP fields) and the vdso/vvar layout.
struct MmRecord {
  uint64_t start_code;
  uint64_t end_code;
  uint64_t start_data;
  uint64_t end_data;
  uint64_t start_brk;
  uint64_t brk;
  uint64_t start_stack;
  uint64_t arg_start;
  uint64_t arg_end;
  uint64_t env_start;
  uint64_t env_end;
  uint32_t auxv_count;                  // pairs used in auxv
  uint32_t special_count;               // entries used in special
  uint64_t auxv[kMaxAuxv * 2];          // (type, value) pairs, ending with AT_NULL
  SpecialMap special[kMaxSpecialMaps];  // vvar, vvar_vclock, vdso as they were
};
static_assert(sizeof(MmRecord) == 11 * 8 + 8 + kMaxAuxv * 16 + kMaxSpecialMaps * 24);

// Callee-saved state of a thread at the instant it parked (see runtime/context.h).
struct SavedContext {
  uint64_t rbx, rbp, r12, r13, r14, r15;
  uint64_t rsp;
  uint64_t rip;
  uint32_t mxcsr;
  uint16_t fpu_cw;
  uint16_t reserved;
};
static_assert(sizeof(SavedContext) == 72);

enum ThreadFlag : uint32_t {
  kThreadMain = 1u << 0,     // the thread-group leader
  kThreadRuntime = 1u << 1,  // crcore's own callback/manager thread
};

struct ThreadRecord {
  int32_t tid;
  uint32_t flags;    // ThreadFlag bits
  uint64_t fs_base;  // TLS: the thread pointer
  uint64_t gs_base;
  uint64_t sigmask;      // blocked signals (bit n-1 for signal n) at the interrupted instruction
  uint64_t altstack_sp;  // sigaltstack
  uint64_t altstack_size;
  uint32_t altstack_flags;
  uint32_t reserved0;
  uint64_t robust_list;  // set_robust_list head
  uint64_t robust_list_len;
  uint64_t clear_child_tid;  // where the kernel clears the tid on exit (glibc: &pthread->tid)
  uint64_t rseq_area;        // registered rseq area, 0 if none
  uint32_t rseq_len;
  uint32_t rseq_signature;
  SavedContext context;  // where the thread resumes
  char name[16];         // comm
};
static_assert(sizeof(ThreadRecord) == 96 + sizeof(SavedContext) + 16);

enum class RegionKind : uint32_t {
  AnonPrivate = 1,  // anonymous private (includes glibc thread stacks and guard regions)
  AnonShared = 2,   // MAP_SHARED|MAP_ANONYMOUS (appears as /dev/zero (deleted))
  FilePrivate = 3,  // MAP_PRIVATE of a file: remapped from the file, modified pages from the image
  FileShared = 4,   // MAP_SHARED of a file: remapped from the file, no pages in the image
  Heap = 5,         // [heap]
  Stack = 6,        // [stack] of the main thread (grows down)
  DeletedFile = 7,  // a private mapping of a file that no longer exists: restored anonymous, all pages saved
};

enum RegionProt : uint32_t { kProtRead = 1, kProtWrite = 2, kProtExec = 4 };

struct RegionRecord {
  uint64_t start;
  uint64_t end;
  uint64_t file_offset;
  uint64_t inode;
  uint64_t dev;          // makedev(major, minor) of the backing file
  uint64_t file_size;    // st_size at checkpoint (0 if anonymous)
  uint64_t pages_saved;  // pages of this region stored in Pages records
  uint32_t kind;         // RegionKind
  uint32_t prot;         // RegionProt bits
  uint32_t path_len;     // then: the path (file name, or [heap]/[stack]/...)
  uint32_t flags;        // RegionFlag bits (0 in a full image)
};
static_assert(sizeof(RegionRecord) == 72);

enum RegionFlag : uint32_t {
  // Incremental images only, anonymous kinds only: a page of this region that no Pages record of
  // this image holds is the parent image's page at that address (resolved down the chain).
  // Without it, such a page is a zero page (or the file's), as in a full image.
  kRegionInherits = 1u << 0,
  // Version 5: the mapping's advice (madvise(2)), from VmFlags in /proc/PID/smaps; the restart stage
  // advises the restored mapping the same way.
  kRegionHugePage = 1u << 1,    // MADV_HUGEPAGE ("hg"): set before the pages are filled
  kRegionNoHugePage = 1u << 2,  // MADV_NOHUGEPAGE ("nh")
  kRegionDontFork = 1u << 3,    // MADV_DONTFORK ("dc")
  kRegionWipeOnFork = 1u << 4,  // MADV_WIPEONFORK ("wf"), private anonymous mappings only
  kRegionDontDump = 1u << 5,    // MADV_DONTDUMP ("dd")
  kRegionMergeable = 1u << 6,   // MADV_MERGEABLE ("mg", KSM)
};
inline constexpr uint32_t kRegionAdvice =
    kRegionHugePage | kRegionNoHugePage | kRegionDontFork | kRegionWipeOnFork | kRegionDontDump | kRegionMergeable;

struct PagesHeader {
  uint64_t address;  // page-aligned
  uint64_t length;   // bytes of raw page data that follow (a multiple of the page size)
};
static_assert(sizeof(PagesHeader) == 16);

enum class FdKind : uint32_t {
  RegularFile = 1,
  Directory = 2,
  CharDevice = 3,  // /dev/null, /dev/zero, /dev/urandom, ...
  Tty = 4,         // a terminal: reattached to cr_restart's terminal
  PipeRead = 5,
  PipeWrite = 6,
  Socket = 7,    // a socket crcore does not restore (restored as /dev/null)
  Other = 8,     // eventfd, epoll, ...: not restored yet
  UnixPair = 9,  // one end of an unnamed AF_UNIX socketpair whose two ends are both in the image
  // Version 3. Each of these has a Resource record (FdInfo, or FileContents) describing it.
  EventFd = 10,      // eventfd: count and flags from its FdInfo
  TimerFd = 11,      // timerfd: clock, remaining time and interval from its FdInfo
  SignalFd = 12,     // signalfd: the signal set from its FdInfo
  Epoll = 13,        // epoll instance: its interest list (tfd, events, data) from its FdInfo
  Inotify = 14,      // inotify instance: its watches from its FdInfo, with each watched path
  Memfd = 15,        // memfd: name from the path, contents in FileContents, seals in FdInfo
  DeletedFile = 16,  // an open regular file that was unlinked: contents in FileContents
  Fifo = 17,         // a named FIFO (the path); its unread bytes in FdData like a pipe
  UnixListen = 18,   // a listening AF_UNIX socket bound to a name: name, type and backlog in its FdInfo
  UnixBound = 19,    // an unconnected AF_UNIX datagram socket bound to a name: name in its FdInfo,
                     // queued datagrams in FdData (framed as a dgram socketpair end's)
  PtyMaster = 20,    // the master side of a pseudo-terminal the process opened: FdInfo "pty-index: N"
  PtySlave = 21,     // the slave side of such a pty whose master is in the image: FdInfo "pty-index: N"
};

// FdRecord.socket_type of a UnixPair (the Linux SOCK_* values).
enum SocketType : uint32_t {
  kSocketStream = 1,     // SOCK_STREAM: FdData holds bytes
  kSocketDgram = 2,      // SOCK_DGRAM: FdData holds messages (FdMessageHeader + bytes, each)
  kSocketSeqpacket = 5,  // SOCK_SEQPACKET: FdData holds messages
};

// FdRecord.shutdown bits of a UnixPair (the kernel's sk_shutdown, as sock_diag reports it).
enum SocketShutdown : uint32_t {
  kShutdownRead = 1u << 0,   // RCV_SHUTDOWN: this end receives nothing more
  kShutdownWrite = 1u << 1,  // SEND_SHUTDOWN: this end sends nothing more
};

struct FdRecord {
  int32_t fd;
  uint32_t kind;        // FdKind
  uint32_t open_flags;  // fcntl(F_GETFL)
  uint32_t fd_flags;    // fcntl(F_GETFD): FD_CLOEXEC
  int64_t offset;       // lseek(fd, 0, SEEK_CUR), -1 if not seekable
  uint64_t inode;       // st_ino (for pipes: the pipe's identity, shared by both ends)
  uint64_t dev;
  uint32_t mode;       // st_mode
  uint32_t path_len;   // then: readlink of /proc/self/fd/N
  uint64_t file_size;  // st_size
  // UnixPair only; zero for every other kind.
  uint64_t peer_inode;      // the other end's inode: a UnixPair Fd record of this image
  uint32_t socket_type;     // SocketType
  uint32_t shutdown;        // SocketShutdown bits
  uint32_t send_buffer;     // getsockopt SO_SNDBUF (0: leave the default)
  uint32_t receive_buffer;  // getsockopt SO_RCVBUF (0: leave the default)
};
static_assert(sizeof(FdRecord) == 80);

// FdData: the header, then `length` bytes. For a pipe or a SOCK_STREAM end they are the unread
// bytes; for a SOCK_DGRAM or SOCK_SEQPACKET end, the queued messages in order, each an
// FdMessageHeader then its bytes (no padding), filling `length` exactly.
struct FdDataHeader {
  uint64_t inode;  // the pipe or socketpair end (FdRecord.inode) the data is read from
  uint64_t length;
};
static_assert(sizeof(FdDataHeader) == 16);

struct FdMessageHeader {
  uint32_t length;  // bytes of the message that follow (0 for an empty datagram)
};
static_assert(sizeof(FdMessageHeader) == 4);

// Resource (kind 10, version 3): one thing the process holds beyond memory and plain descriptors.
// A ResourceHeader, then `length` bytes whose meaning depends on `type`.
enum class ResourceType : uint32_t {
  FdInfo = 1,         // fd: the text of /proc/self/fdinfo/FD (eventfd, timerfd, signalfd, epoll,
                      // inotify with "path:" lines added, memfd seals, and "lock:" lines of any file)
  FileContents = 2,   // fd: the bytes of a memfd or of a deleted file, from offset 0
  PosixTimer = 3,     // PosixTimerResource: one POSIX timer (timer_create)
  IntervalTimer = 4,  // IntervalTimerResource: one armed setitimer timer
  Prctl = 5,          // PrctlResource
  Affinity = 6,       // tid: the thread's CPU mask (sched_getaffinity bytes)
  MemPolicy = 7,      // tid: MemPolicyResource
  Topology = 8,       // the machine's topology, as hwloc XML
  Terminal = 9,       // fd: TerminalResource (terminal settings and window size of a tty)
  // Version 4.
  SysvSem = 10,          // SysvSemResource + nsems uint16 values: a SysV semaphore set the process uses
  SysvMsg = 11,          // SysvMsgResource + its messages in queue order (SysvMessageHeader + bytes each)
  RegionMemPolicy = 12,  // RegionMemPolicyResource: the NUMA policy of one address range (mbind)
  SysvShm = 13,          // SysvShmResource: a SysV shared memory segment attached by the process
};

struct ResourceHeader {
  uint32_t type;  // ResourceType
  int32_t fd;     // the descriptor it belongs to (an Fd record of this image), or -1
  int32_t tid;    // the thread it belongs to (a Thread record's tid), or 0
  uint32_t reserved;
  uint64_t length;  // bytes that follow
};
static_assert(sizeof(ResourceHeader) == 24);

enum PosixTimerNotify : uint32_t {
  kTimerNotifySignal = 0,  // SIGEV_SIGNAL to the process
  kTimerNotifyNone = 1,    // SIGEV_NONE
};

struct PosixTimerResource {
  int32_t id;        // the kernel's timer id (what timer_create returned)
  int32_t clock;     // clockid_t
  int32_t signal;    // sigev_signo
  uint32_t notify;   // PosixTimerNotify
  uint64_t value;    // sigev_value
  int64_t value_ns;  // time left until it fires (0: disarmed)
  int64_t interval_ns;
};
static_assert(sizeof(PosixTimerResource) == 40);

struct IntervalTimerResource {
  uint32_t which;  // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
  uint32_t reserved;
  int64_t value_ns;
  int64_t interval_ns;
};
static_assert(sizeof(IntervalTimerResource) == 24);

struct PrctlResource {
  int32_t pdeath_signal;    // PR_GET_PDEATHSIG
  int32_t dumpable;         // PR_GET_DUMPABLE
  int32_t child_subreaper;  // PR_GET_CHILD_SUBREAPER
  int32_t no_new_privs;     // PR_GET_NO_NEW_PRIVS
  uint64_t timer_slack_ns;  // PR_GET_TIMERSLACK (of the manager thread)
};
static_assert(sizeof(PrctlResource) == 24);

struct MemPolicyResource {
  int32_t mode;  // get_mempolicy mode (MPOL_*, with its flags)
  uint32_t reserved;
  uint64_t nodes[16];  // node mask, 1024 nodes
};
static_assert(sizeof(MemPolicyResource) == 136);

struct TerminalResource {
  uint8_t termios[60];                  // the kernel's struct termios2 (TCGETS2)
  uint16_t rows, cols, xpixel, ypixel;  // TIOCGWINSZ
};
static_assert(sizeof(TerminalResource) == 68);

// A SysV semaphore set (version 4). Restored with the same id (kernel.sem_next_id) and key, or, when
// an object with that id and key still exists, set back to these values.
struct SysvSemResource {
  int32_t id;     // the semid the program holds
  int32_t key;    // IPC_PRIVATE (0) or the key
  uint32_t mode;  // permission bits (sem_perm.mode & 0777)
  uint32_t uid;   // owner (sem_perm.uid, gid)
  uint32_t gid;
  uint32_t nsems;  // then: nsems uint16 values (semctl GETALL), no padding
};
static_assert(sizeof(SysvSemResource) == 24);

// A SysV message queue (version 4), its messages read without removing them (msgrcv MSG_COPY).
struct SysvMsgResource {
  int32_t id;
  int32_t key;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t count;   // messages that follow
  uint64_t qbytes;  // msg_qbytes: the queue's byte limit
};
static_assert(sizeof(SysvMsgResource) == 32);

struct SysvMessageHeader {
  int64_t type;     // mtype (> 0)
  uint64_t length;  // bytes of mtext that follow
};
static_assert(sizeof(SysvMessageHeader) == 16);

// The policy mbind gave one range of the address space (version 4): a mapping whose policy is not
// the default (get_mempolicy MPOL_F_ADDR). Re-applied by the runtime once it is restarted.
struct RegionMemPolicyResource {
  uint64_t start;  // page-aligned
  uint64_t end;
  int32_t mode;  // MPOL_* with its MPOL_F_* flags
  uint32_t reserved;
  uint64_t nodes[16];  // node mask, 1024 nodes
};
static_assert(sizeof(RegionMemPolicyResource) == 152);

// A SysV shared memory segment and where the process has it attached (one record per attachment).
// Its contents are the pages of the region at `address` (an AnonShared region named /SYSV...):
// cr_restart recreates the segment with the same id (kernel.shm_next_id) and key, or reuses the one
// with that id and key, and fills it from those pages once; the restarted runtime attaches it there
// again (shmat SHM_REMAP) and, for a segment marked for deletion, marks it again.
enum SysvShmFlag : uint32_t {
  kSysvShmReadOnly = 1u << 0,  // attached with SHM_RDONLY
  kSysvShmExec = 1u << 1,      // attached with SHM_EXEC
  kSysvShmRemoved = 1u << 2,   // marked for deletion (IPC_RMID while attached; its key is then 0)
};

struct SysvShmResource {
  int32_t id;     // the shmid the program holds
  int32_t key;    // IPC_PRIVATE (0) or the key
  uint32_t mode;  // permission bits (shm_perm.mode & 0777)
  uint32_t uid;   // owner (shm_perm.uid, gid)
  uint32_t gid;
  uint32_t flags;    // SysvShmFlag bits
  uint64_t size;     // shm_segsz
  uint64_t address;  // the attachment: page-aligned start
  uint64_t length;   // bytes mapped (the segment's size rounded up to pages)
  uint64_t offset;   // offset in the segment of `address` (0: the whole segment is attached)
};
static_assert(sizeof(SysvShmResource) == 56);

inline constexpr uint32_t kSignalCount = 64;

// The kernel's struct sigaction (rt_sigaction), exactly as the syscall takes it.
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};
static_assert(sizeof(KernelSigaction) == 32);

struct SigActionsRecord {
  KernelSigaction action[kSignalCount];  // index n-1 for signal n; SIGKILL/SIGSTOP left zero
};
static_assert(sizeof(SigActionsRecord) == kSignalCount * 32);

inline constexpr uint32_t kRlimitCount = 16;

struct RlimitsRecord {
  uint64_t cur[kRlimitCount];
  uint64_t max[kRlimitCount];
};
static_assert(sizeof(RlimitsRecord) == kRlimitCount * 16);

struct EndRecord {
  uint64_t record_count;  // records before this one
  uint64_t pages_bytes;   // raw page bytes in Pages records
  uint64_t file_bytes;    // offset of this record's header in the file
};
static_assert(sizeof(EndRecord) == 24);

// No structure has implicit padding: every byte of the file is a defined field.
static_assert(__has_unique_object_representations(FileHeader));
static_assert(__has_unique_object_representations(RecordHeader));
static_assert(__has_unique_object_representations(ProcessRecord));
static_assert(__has_unique_object_representations(MmRecord));
static_assert(__has_unique_object_representations(ThreadRecord));
static_assert(__has_unique_object_representations(RegionRecord));
static_assert(__has_unique_object_representations(PagesHeader));
static_assert(__has_unique_object_representations(FdRecord));
static_assert(__has_unique_object_representations(FdDataHeader));
static_assert(__has_unique_object_representations(FdMessageHeader));
static_assert(__has_unique_object_representations(SigActionsRecord));
static_assert(__has_unique_object_representations(RlimitsRecord));
static_assert(__has_unique_object_representations(EndRecord));
static_assert(__has_unique_object_representations(ResourceHeader));
static_assert(__has_unique_object_representations(PosixTimerResource));
static_assert(__has_unique_object_representations(IntervalTimerResource));
static_assert(__has_unique_object_representations(PrctlResource));
static_assert(__has_unique_object_representations(MemPolicyResource));
static_assert(__has_unique_object_representations(TerminalResource));
static_assert(__has_unique_object_representations(SysvSemResource));
static_assert(__has_unique_object_representations(SysvMsgResource));
static_assert(__has_unique_object_representations(SysvMessageHeader));
static_assert(__has_unique_object_representations(RegionMemPolicyResource));
static_assert(__has_unique_object_representations(SysvShmResource));

}  // namespace crcore::image
