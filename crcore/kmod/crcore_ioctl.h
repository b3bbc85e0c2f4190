/* The ioctl ABI of /dev/crcore, the crcore kernel module (docs/kmod.md describes it).
 *
 * Plain C, shared by the module (crcore/kmod/crcore_main.c) and user space (libcr's manager
 * thread, cr_checkpoint). Every argument struct starts with `abi`: the caller puts
 * CRCORE_KMOD_ABI there and the module refuses any other value with EPROTO. Any change to a
 * struct below bumps CRCORE_KMOD_ABI; the ioctl numbers encode the struct sizes, so a caller
 * built against another layout gets ENOTTY. */
#ifndef CRCORE_KMOD_IOCTL_H
#define CRCORE_KMOD_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CRCORE_KMOD_ABI 1
#define CRCORE_KMOD_DEVICE "/dev/crcore"
#define CRCORE_KMOD_MAX_THREADS 4096
#define CRCORE_KMOD_MESSAGE 256

/* Scopes of a request (BLCR's cr_scope_t). Only one process is supported. */
#define CRCORE_SCOPE_PROCESS 1

/* CRCORE_IOC_VERSION, any caller. */
struct crcore_version {
	__u32 abi;	   /* out: CRCORE_KMOD_ABI of the module */
	__u32 max_threads; /* out: CRCORE_KMOD_MAX_THREADS */
	__u32 clients;	   /* out: processes registered now */
	__u32 requests;	   /* out: requests allocated now (in flight, or not yet reaped) */
	__u64 completed;   /* out: requests whose phase 2 ran in the module since it was loaded */
};

/* CRCORE_IOC_REGISTER, by the runtime's manager thread (the callback thread of BLCR): its
 * process becomes a client, one per process. */
struct crcore_register {
	__u32 abi;
	__s32 signal; /* the phase-2 signal the module delivers to every other thread */
};

/* CRCORE_IOC_REQUEST, by a requester: checkpoint process `pid` (as the requester's PID namespace
 * numbers it). The requester must own the target (its euid is the target's uid and euid) or have
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; the target must be dumpable and registered. */
struct crcore_request {
	__u32 abi;
	__s32 pid;
	__u32 scope;	/* CRCORE_SCOPE_PROCESS */
	__s32 image_fd; /* open for writing; the module passes the file to the target */
	__u32 after;	/* passed through to the runtime: control::After */
	__u32 flags;	/* passed through: control::RequestFlag bits */
	__u32 timeout_ms;
	__s32 compress_level;
	__u64 id; /* out: the request's id */
};

/* CRCORE_IOC_TAKE, by a client's manager thread when the device polls readable (phase 1 is
 * triggered): takes the pending request; EAGAIN when there is none. */
struct crcore_take {
	__u32 abi;
	__s32 image_fd;	     /* out: a new descriptor (close-on-exec) of the requester's image file */
	__u64 id;	     /* out */
	__s32 requester_pid; /* out: in the client's PID namespace, 0 if not visible there */
	__u32 after;
	__u32 flags;
	__u32 timeout_ms;
	__s32 compress_level;
	__u32 reserved;
};

/* The registers of one thread, captured by the module when the thread returned to user mode
 * after phase 2 was triggered: the state of the interrupted code, before any signal frame. */
struct crcore_thread_regs {
	__s32 tid;   /* in the client's PID namespace */
	__u32 state; /* CRCORE_THREAD_* */
	__u64 r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
	__u64 orig_rax, rip, cs, eflags, rsp, ss;
	__u64 fs_base, gs_base;
};
#define CRCORE_THREAD_CAPTURED 1 /* registers captured, phase-2 signal queued */
#define CRCORE_THREAD_EXITING 2	 /* the thread was exiting: nothing captured */

/* CRCORE_IOC_PHASE2, by the client's manager thread during request `id`: the module queues a
 * task_work on every other thread of the process (repeating for threads created meanwhile); each
 * thread, on its way back to user mode, records its registers and has the phase-2 signal queued
 * to itself. Returns when every thread did (count filled), or ETIMEDOUT/EINTR. */
struct crcore_phase2 {
	__u32 abi;
	__u32 timeout_ms; /* 0: no limit */
	__u64 id;
	__u64 regs;	/* user pointer to struct crcore_thread_regs[capacity] */
	__u32 capacity; /* entries at regs */
	__u32 count;	/* out: threads found (entries filled, up to capacity) */
	__u32 captured; /* out: threads whose registers were captured */
	__u32 exiting;	/* out: threads that were exiting */
};

/* The outcome of a request, filled by the runtime (CRCORE_IOC_DONE) and read by the requester
 * (CRCORE_IOC_POLL). Mirrors control::Response. */
struct crcore_result {
	__u32 status; /* control::Status; CRCORE_STATUS_TARGET_GONE if the target exited first */
	__s32 error;
	__u64 image_bytes, page_bytes, pause_ns, total_ns;
	__u32 threads, regions;
	__u32 kernel_captured; /* threads whose registers the module captured */
	__u32 reserved;
	char message[CRCORE_KMOD_MESSAGE];
};
#define CRCORE_STATUS_TARGET_GONE 100

/* CRCORE_IOC_DONE, by the client's manager thread: reports the result of request `id` (phase
 * completion), then waits up to wait_ms for the requester's commit (0: do not wait). */
struct crcore_done {
	__u32 abi;
	__u32 wait_ms;
	__u64 id;
	struct crcore_result result;
	__u32 committed; /* out: 1 if the requester committed (renamed the image into place) */
	__u32 reserved;
};

/* CRCORE_IOC_POLL, by the requester: the result of its request `id`. */
struct crcore_poll {
	__u32 abi;
	__u32 wait_ms; /* 0: return EAGAIN at once if not done; ~0u: wait without limit */
	__u64 id;
	struct crcore_result result; /* out */
};

/* CRCORE_IOC_COMMIT, by the requester after renaming the image (or failing to). */
struct crcore_commit {
	__u32 abi;
	__u32 committed;
	__u64 id;
};

/* CRCORE_IOC_RESTORE_THREAD, restart support: sets the FS and GS base of the calling thread
 * (a thread being restored), as the kernel's arch_prctl would. */
struct crcore_restore_thread {
	__u32 abi;
	__u32 flags; /* CRCORE_RESTORE_FS_BASE | CRCORE_RESTORE_GS_BASE */
	__u64 fs_base, gs_base;
};
#define CRCORE_RESTORE_FS_BASE 1
#define CRCORE_RESTORE_GS_BASE 2

#define CRCORE_IOC_MAGIC 0xC7
#define CRCORE_IOC_VERSION _IOR(CRCORE_IOC_MAGIC, 1, struct crcore_version)
#define CRCORE_IOC_REGISTER _IOW(CRCORE_IOC_MAGIC, 2, struct crcore_register)
#define CRCORE_IOC_REQUEST _IOWR(CRCORE_IOC_MAGIC, 3, struct crcore_request)
#define CRCORE_IOC_TAKE _IOWR(CRCORE_IOC_MAGIC, 4, struct crcore_take)
#define CRCORE_IOC_PHASE2 _IOWR(CRCORE_IOC_MAGIC, 5, struct crcore_phase2)
#define CRCORE_IOC_DONE _IOWR(CRCORE_IOC_MAGIC, 6, struct crcore_done)
#define CRCORE_IOC_POLL _IOWR(CRCORE_IOC_MAGIC, 7, struct crcore_poll)
#define CRCORE_IOC_COMMIT _IOW(CRCORE_IOC_MAGIC, 8, struct crcore_commit)
#define CRCORE_IOC_RESTORE_THREAD _IOW(CRCORE_IOC_MAGIC, 9, struct crcore_restore_thread)

#endif
