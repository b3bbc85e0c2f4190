/*
 * libcr.h -- crcore's BLCR-compatible C interface.
 *
 * Purpose
 *   A program written against the public header of Berkeley Lab
 *   Checkpoint/Restart 0.8.x (BLCR's <libcr.h>, which pulled in
 *   <blcr_common.h> and <blcr_errcodes.h>) must compile against this file
 *   unchanged and link against crcore's libcr.  Every name, type, field
 *   order, signature and constant value below that a client can observe
 *   therefore matches BLCR 0.8.x.  The text is crcore's own; the semantics
 *   crcore reproduces are specified in docs/blcr-api.md (with sources).
 *
 * Language
 *   Plain C99.  Safe to include from C++ (declarations get C linkage).
 *
 * Status tags used on every declaration
 *   [impl]    crcore implements this with BLCR's semantics.
 *   [compat]  Declared so BLCR clients compile and link.  crcore's
 *             behaviour is documented next to the declaration; where the
 *             full BLCR behaviour is not provided the call fails cleanly
 *             (usually -1 with errno = ENOSYS) instead of pretending.
 *   The tags describe the scope of crcore's first implementation; keep
 *   them in sync with src/ when that changes.
 *
 * Deliberately NOT provided (kernel-module ABI of BLCR, never needed by
 * clients of libcr): the CR_OP_* ioctl numbers, CR_IOCTL_BASE,
 * CR_CTRL_FILE, struct cr_chkpt_args / cr_fwd_args / cr_rstrt_args /
 * cr_procs_tbl / cr_chkpt_info / cr_log_args, cr_format_t, cr_bool_t.
 */

#ifndef CRCORE_LIBCR_H
#define CRCORE_LIBCR_H 1

/* BLCR's own include guards.  Defining them keeps a stray real
 * <blcr_common.h> (or a second libcr.h) from redefining everything. */
#ifndef _CRLIB_H
#define _CRLIB_H 1
#endif
#ifndef _BLCR_COMMON_H
#define _BLCR_COMMON_H 1
#endif

#include <errno.h>      /* clients test errno against CR_E* right after calls */
#include <sys/select.h> /* struct timeval (BLCR's header provided it too) */
#include <sys/types.h>  /* pid_t */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CRCORE_LIBCR_DEPRECATED_ __attribute__((__deprecated__))
#else
#define CRCORE_LIBCR_DEPRECATED_
#endif

/* ======================================================================
 * Versions
 * ====================================================================== */

/* Release of BLCR whose interface this header reproduces.  Clients use
 * these for feature tests (Open MPI requires MAJOR.MINOR >= 0.6). */
#define CR_RELEASE_MAJOR 0
#define CR_RELEASE_MINOR 8
#define CR_RELEASE_PATCH 5
#define CR_RELEASE_VERSION "0.8.5"

/* Interface version of libcr itself (BLCR 0.8.x shipped libcr 0.5.x). */
#define LIBCR_MAJOR 0
#define LIBCR_MINOR 5
#define LIBCR_PATCH 5
#define LIBCR_VERSION "0.5.5"

/* BLCR's kernel-module interface version.  Meaningless for crcore (there
 * is no kernel module) but some build systems print or test it. */
#define CR_MODULE_MAJOR 0
#define CR_MODULE_MINOR 10
#define CR_MODULE_PATCH 3
#define CR_MODULE_VERSION "0.10.3"

/* Real-time signal reserved for checkpoint delivery.  BLCR chose it at
 * configure time as the highest real-time signal (64 on Linux/glibc).
 * crcore reserves the same number so programs that avoid it keep working. */
#define CR_SIGNUM 64

/* ======================================================================
 * Error codes (errno values and negated return values)
 *
 * BLCR numbers its own errors upward from CR_MIN_ERRCODE + 1, well above
 * the range Linux uses for errno.  The numeric values are part of the
 * interface (they appear in errno, in negative returns of cr_checkpoint()
 * and in the exit status of the cr_checkpoint tool) and must never change.
 * ====================================================================== */
enum {
  CR_MIN_ERRCODE = 2353, /* sentinel, not an error */
  CR_ETEMPFAIL = 2354,   /* a callback cancelled the checkpoint; retry later */
  CR_EPERMFAIL = 2355,   /* a callback cancelled it permanently; job killed */
  CR_ENOSUPPORT = 2356,  /* a target process has no libcr loaded */
  CR_EVERSION = 2357,    /* interface version mismatch */
  CR_EOMITTED = 2358,    /* this process asked to be left out of the checkpoint */
  CR_EBADARCH = 2359,    /* image does not match this machine */
  CR_EPTRACED = 2360,    /* a target is being ptraced */
  CR_EPTRACER = 2361,    /* a target is ptracing another process */
  CR_ERSTRTABRT = 2362,  /* restart aborted and job killed */
  CR_ERESTARTED = 2363,  /* request handle is stale: we are a restarted image */
  CR_ENOTCB = 2364,      /* only legal from inside a checkpoint callback */
  CR_ENOINIT = 2365,     /* calling thread has not called cr_init() */
  CR_MAX_ERRCODE = 2366  /* sentinel, not an error */
};

/* ======================================================================
 * Basic types and limits
 * ====================================================================== */

/* Version tag stored in the args structs so the library can tell which
 * fields the caller knows about. */
typedef int cr_version_t;
#define CR_CHECKPOINT_ARGS_VERSION 1
#define CR_RESTART_ARGS_VERSION 1

/* Most callbacks one context (the process-wide thread-context list, or one
 * thread's signal-context list) may hold.  Callback ids are
 * (index | CR_THREAD_CONTEXT) or (index | CR_SIGNAL_CONTEXT), so the index
 * must stay below the context bits. */
#define CR_MAX_CALLBACKS 0x1FFFFFF

/* A checkpoint callback.  Receives the 'arg' given at registration and
 * returns 0; a non-zero return is treated as a permanent failure (see
 * docs/blcr-api.md). */
typedef int (*cr_callback_t)(void*);

/* Returned by cr_init(); per-thread, used with cr_{enter,tryenter,leave}_cs. */
typedef int cr_client_id_t;

/* Returned by cr_register_callback(); encodes the context bit. */
typedef int cr_callback_id_t;

/* Busy-wait lock usable from signal handlers. */
typedef unsigned int cr_spinlock_t;
#define CR_SPINLOCK_INITIALIZER 0U

/* Scope of a checkpoint request (cr_checkpoint_args_t.cr_scope).  A target
 * of 0 means "my own" pid / process group / session. */
typedef enum {
  CR_SCOPE_PROC = 0, /* one process, all of its threads */
  CR_SCOPE_PGRP = 1, /* every process in a process group */
  CR_SCOPE_SESS = 2, /* every process in a session */
  CR_SCOPE_TREE = 3  /* a process and all of its live descendants */
} cr_scope_t;

/* Context flags for cr_register_callback(), cr_replace_callback() and
 * cr_replace_self(); exactly one must be given. */
#define CR_THREAD_CONTEXT 0x4000000 /* run in libcr's dedicated callback thread */
#define CR_SIGNAL_CONTEXT                              \
  0x2000000 /* run in the registering thread, possibly \
               inside a signal handler */

/* The client id to pass to cr_{enter,tryenter,leave}_cs() from inside a
 * callback (those calls then return at once). */
#define CR_ID_CALLBACK ((cr_client_id_t)(-1))

/* Return values of cr_status(). */
enum {
  CR_STATE_IDLE = 0,    /* no checkpoint pending or running */
  CR_STATE_PENDING = 1, /* a checkpoint has been requested, not started here */
  CR_STATE_ACTIVE = 2   /* this thread is running checkpoint callbacks */
};

/* ======================================================================
 * cr_checkpoint() argument values
 * ====================================================================== */
enum {
  CR_CHECKPOINT_READY = 0,        /* go ahead, checkpoint this process */
  CR_CHECKPOINT_TEMP_FAILURE = 1, /* cancel the whole request, keep running */
  CR_CHECKPOINT_PERM_FAILURE = 2, /* cancel the request and kill its processes */
  CR_CHECKPOINT_OMIT = 4          /* let it proceed, but without this process */
};
/* Failure with a caller-chosen error number v (1..65535) in place of
 * CR_ETEMPFAIL / CR_EPERMFAIL; v travels in the upper 16 bits. */
#define CR_CHECKPOINT_TEMP_FAILURE_CODE(v) (CR_CHECKPOINT_TEMP_FAILURE | ((v) << 16))
#define CR_CHECKPOINT_PERM_FAILURE_CODE(v) (CR_CHECKPOINT_PERM_FAILURE | ((v) << 16))
/* Bits of the argument that end the callback chain. */
#define CR_CHECKPOINT_ABORT_MASK (CR_CHECKPOINT_TEMP_FAILURE | CR_CHECKPOINT_PERM_FAILURE | CR_CHECKPOINT_OMIT)

/* ======================================================================
 * Checkpoint requests
 * ====================================================================== */

/* cr_fd value meaning "a context.<id> file in the requester's cwd". */
#define CR_DEST_CWD (-4096)

/* Bits for cr_checkpoint_args_t.cr_flags. */
#define CR_CHKPT_PROHIBIT_SELF 0x00000001 /* fail (EDEADLK) if the requester is a target */
#define CR_CHKPT_PTRACED_ALLOW 0x00000002 /* checkpoint ptraced targets normally */
#define CR_CHKPT_PTRACED_SKIP 0x00000004  /* silently drop ptraced targets */
#define CR_CHKPT_PTRACER_SKIP 0x00000008  /* silently drop targets that ptrace others */
#define CR_CHKPT_ASYNC_ERR 0x00000010     /* report request errors at reap time */
#define CR_CHKPT_DUMP_EXEC 0x00000200     /* store the executable in the image */
#define CR_CHKPT_DUMP_PRIVATE 0x00000400  /* store private file mappings (libs) */
#define CR_CHKPT_DUMP_SHARED 0x00000800   /* store shared file mappings */
#define CR_CHKPT_DUMP_ALL (CR_CHKPT_DUMP_EXEC | CR_CHKPT_DUMP_PRIVATE | CR_CHKPT_DUMP_SHARED)
/* [crcore] an incremental image: only the pages changed since the target's last checkpoint, the
 * rest from that image (its parent, which must stay in the same directory). The first checkpoint,
 * and the first after a restart, are full images. CR_SCOPE_PROC only (EINVAL with another scope). */
#define CR_CHKPT_INCREMENTAL 0x00001000

/* Arguments of cr_request_checkpoint().  Always fill it in with
 * cr_initialize_checkpoint_args_t() first, then set fields. */
typedef struct cr_checkpoint_args {
  cr_version_t cr_version; /* set by the initializer */
  cr_scope_t cr_scope;     /* required; initializer leaves it invalid (-1) */
  pid_t cr_target;         /* pid/pgid/sid; 0 = self (default) */
  int cr_fd;               /* open, writable destination; initializer sets -1 */
  int cr_signal;           /* sent to every target after the checkpoint; 0 = none */
  unsigned int cr_timeout; /* seconds allowed for the targets; 0 = unbounded */
  unsigned int cr_flags;   /* CR_CHKPT_* bits; default 0 */
} cr_checkpoint_args_t;

/* Opaque request handles (a descriptor-like value inside). */
typedef unsigned long cr_checkpoint_handle_t;
typedef unsigned long cr_restart_handle_t;

/* Special return values of cr_poll_checkpoint{,_msg}(); errno says more. */
#define CR_POLL_CHKPT_ERR_PRE -1  /* waiting for completion failed */
#define CR_POLL_CHKPT_ERR_POST -2 /* request completed unsuccessfully (see errno) */
#define CR_POLL_CHKPT_ERR_LOG -3  /* collecting the message log failed */

/* ======================================================================
 * Restart requests
 * ====================================================================== */

/* One path-prefix substitution applied while restoring files. */
struct cr_rstrt_relocate_pair {
  const char* oldpath;
  const char* newpath;
};
/* A counted list of substitutions (allocate with CR_RSTRT_RELOCATE_SIZE). */
/* C99 flexible array member; in C++ it is a compiler extension, so keep
 * pedantic C++ builds quiet about it. */
#if defined(__cplusplus) && defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc99-extensions"
#elif defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
struct cr_rstrt_relocate {
  unsigned int count;
  struct cr_rstrt_relocate_pair path[];
};
#if defined(__cplusplus) && defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#define CR_RSTRT_RELOCATE_SIZE(n) (sizeof(struct cr_rstrt_relocate) + (n) * sizeof(struct cr_rstrt_relocate_pair))
#define CR_MAX_RSTRT_RELOC 16

/* Bits for cr_restart_args_t.cr_flags. */
#define CR_RSTRT_ASYNC_ERR 0x00000001    /* report request errors at reap time */
#define CR_RSTRT_RESTORE_PID 0x00000002  /* restore original pids/tgids (default) */
#define CR_RSTRT_RESTORE_PGID 0x00000004 /* restore original process group ids */
#define CR_RSTRT_RESTORE_SID 0x00000008  /* restore original session ids */

/* Arguments of cr_request_restart(); fill in with
 * cr_initialize_restart_args_t() first. */
typedef struct cr_restart_args {
  cr_version_t cr_version;               /* set by the initializer */
  int cr_fd;                             /* readable image; initializer sets -1 */
  int cr_signal;                         /* sent after restart; 0 = none */
  unsigned int cr_flags;                 /* CR_RSTRT_*; default CR_RSTRT_RESTORE_PID */
  struct cr_rstrt_relocate* cr_relocate; /* NULL = no relocation */
} cr_restart_args_t;

#define CR_POLL_RSTRT_ERR_PRE -1
#define CR_POLL_RSTRT_ERR_POST -2
#define CR_POLL_RSTRT_ERR_LOG -3

/* ======================================================================
 * Information available inside callbacks
 * ====================================================================== */

/* From cr_get_checkpoint_info().  Field order is BLCR's. */
struct cr_checkpoint_info {
  int signal;       /* signal the targets get once the image is written
                       (0 = none, negative = sent before writing) */
  const char* dest; /* absolute path of the image being written, "" if
                       not a file system object, ".../." for a directory */
  pid_t requester;  /* pid of the process that asked for the checkpoint */
  pid_t target;     /* cr_target exactly as requested (may be 0 = self) */
  cr_scope_t scope; /* cr_scope of the request */
};

/* From cr_get_restart_info(). */
struct cr_restart_info {
  pid_t requester; /* pid of the restarting process (cr_restart) */
  const char* src; /* absolute path of the image restarted from */
};

/* ======================================================================
 * Hooks and post-callback hold control
 * ====================================================================== */

/* Events for cr_register_hook(). */
typedef enum {
  CR_HOOK_CONT_SIGNAL_CONTEXT = 0, /* continuing: thread with signal callbacks / CS use */
  CR_HOOK_CONT_THREAD_CONTEXT,     /* continuing: libcr's callback thread */
  CR_HOOK_CONT_NO_CALLBACKS,       /* continuing: thread that never called cr_init() */
  CR_HOOK_RSTRT_SIGNAL_CONTEXT,    /* restarting: thread with signal callbacks / CS use */
  CR_HOOK_RSTRT_THREAD_CONTEXT,    /* restarting: libcr's callback thread */
  CR_HOOK_RSTRT_NO_CALLBACKS,      /* restarting: thread that never called cr_init() */
  CR_NUM_HOOKS                     /* count; not a valid event */
} cr_hook_event_t;

typedef void (*cr_hook_fn_t)(cr_hook_event_t);
#define CR_HOOK_FN_ERROR ((cr_hook_fn_t)(~0UL))

/* 'scope' values for cr_hold_ctrl(). */
enum {
  CR_HOLD_SCOPE_THREAD = 0, /* the calling thread's own setting */
  CR_HOLD_SCOPE_INIT = 1,   /* default for threads that called cr_init() */
  CR_HOLD_SCOPE_UNINIT = 2  /* default for threads that did not */
};
/* 'flags' values for cr_hold_ctrl(). */
#define CR_HOLD_READ -1                             /* query only */
#define CR_HOLD_NONE 0                              /* resume as soon as own callbacks end */
#define CR_HOLD_CONT 1                              /* wait for all callbacks on continue */
#define CR_HOLD_RSTRT 2                             /* wait for all callbacks on restart */
#define CR_HOLD_BOTH (CR_HOLD_CONT | CR_HOLD_RSTRT) /* the default */
#define CR_HOLD_DFLT 4                              /* THREAD scope only: use INIT value */

/* ======================================================================
 * Functions: initialisation and callbacks
 * ====================================================================== */

/* [impl] Prepare the calling thread for libcr use.  Required once in every
 * thread that registers signal-context callbacks, uses critical sections
 * or calls cr_status()/cr_register_hook()/cr_hold_ctrl(); not needed inside
 * callbacks.  May be called again (each call returns the next id: 0, 1,
 * ...).  Returns a non-negative per-thread id, or a negative value with
 * errno set (ENOSYS: checkpoint support unavailable).  Not async-signal-safe. */
extern cr_client_id_t cr_init(void);

/* [impl] Register 'func(arg)' to run when this process is checkpointed.
 * 'flags' must contain exactly one of CR_THREAD_CONTEXT (process-wide list,
 * run by libcr's callback thread, which the first such registration
 * creates) or CR_SIGNAL_CONTEXT (this thread's list, run in this thread).
 * Within one list callbacks run last-registered first.  Returns an id, or
 * -1 with errno CR_ENOINIT, ENOMEM, ENOSPC, EINVAL (bad flags) or EBUSY
 * (called from a callback).  Not async-signal-safe. */
extern cr_callback_id_t cr_register_callback(cr_callback_t func, void* arg, int flags);

/* [impl] Atomically swap the function/arg/flags behind 'id', keeping its
 * place in the running order.  func == NULL disables the entry (there is
 * no unregister).  The context bit in 'flags' must match the id's.
 * Signal-context ids are only meaningful in the thread that made them.
 * Returns 0, or -1 with errno CR_ENOINIT, EINVAL or EBUSY. */
extern int cr_replace_callback(cr_callback_id_t id, cr_callback_t func, void* arg, int flags);

/* [impl] Like cr_replace_callback() for the callback currently running
 * (takes effect for later checkpoints).  Returns 0, or -1 with errno
 * CR_ENOTCB outside a callback or EINVAL. */
extern int cr_replace_self(cr_callback_t func, void* arg, int flags);

/* [impl] Called by a callback to hand control to the rest of the
 * checkpoint: the remaining callbacks of the same list run nested inside
 * this call, then the image is taken.  'flags' is one of the
 * CR_CHECKPOINT_* values above.  Returns
 *   0   continuing in the original process after the checkpoint;
 *   >0  running in a restarted image (the value is the restarter's pid);
 *   <0  minus an error code: -CR_ETEMPFAIL, -CR_EOMITTED, -v for a
 *       ..._FAILURE_CODE(v), another -errno if writing failed, or
 *       -CR_ENOTCB when called outside a callback (errno also set).
 * After CR_CHECKPOINT_PERM_FAILURE the process is killed instead. */
extern int cr_checkpoint(int flags);

/* [impl] Checkpoint state as seen by this thread: CR_STATE_ACTIVE inside a
 * callback, CR_STATE_PENDING if a checkpoint is pending or running in any
 * thread of the process, else CR_STATE_IDLE; -1 with errno CR_ENOINIT.
 * Async-signal-safe. */
extern int cr_status(void);

/* ======================================================================
 * Functions: critical sections (all async-signal-safe)
 * ====================================================================== */

/* [impl] Enter a critical section: checkpoints are held off until the
 * matching cr_leave_cs().  Blocks while a checkpoint is pending or in
 * progress anywhere in the process (outermost entry only; nesting is
 * counted).  Inside a callback pass CR_ID_CALLBACK; the call is a no-op.
 * Returns 0, or -1 with errno CR_ENOINIT. */
extern int cr_enter_cs(cr_client_id_t id);

/* [impl] Non-blocking cr_enter_cs().  Returns 0 when entered (or inside a
 * callback), a positive value when entering would block (do NOT call
 * cr_leave_cs() then), or -1 with errno CR_ENOINIT. */
extern int cr_tryenter_cs(cr_client_id_t id);

/* [impl] Leave a critical section.  Leaving the outermost one lets a
 * deferred checkpoint run; this thread's signal-context callbacks may run
 * before the call returns.  Returns 0, or -1 with errno CR_ENOINIT. */
extern int cr_leave_cs(cr_client_id_t id);

/* ======================================================================
 * Functions: requesting checkpoints
 * ====================================================================== */

/* [impl] Fill 'args' with defaults for this header's version.  Evaluates
 * to 0, or -1 with errno EINVAL.  (Expands to a call of
 * cri_init_checkpoint_args_t(), which must not be called directly.) */
#define cr_initialize_checkpoint_args_t(args) cri_init_checkpoint_args_t(CR_CHECKPOINT_ARGS_VERSION, (args))
extern int cri_init_checkpoint_args_t(cr_version_t version, cr_checkpoint_args_t* args);

/* [impl] Start checkpointing the processes named by args (possibly
 * including the caller).  Returns 0 and fills *handle, or -1 with errno
 * (EINVAL, ESRCH, EPERM, EBADF, EBUSY, CR_ENOSUPPORT, CR_EPTRACED,
 * CR_EPTRACER, EDEADLK, ENOSYS, ...).  With CR_CHKPT_ASYNC_ERR most of
 * these are reported by cr_reap_checkpoint() instead. */
extern int cr_request_checkpoint(cr_checkpoint_args_t* args, cr_checkpoint_handle_t* handle);

/* [impl] Wait (select(2)-style timeout; NULL = forever) for the request to
 * complete.  Returns >0 when complete, 0 on timeout, -1 with errno (EINTR,
 * EINVAL) if waiting itself failed. */
extern int cr_wait_checkpoint(cr_checkpoint_handle_t* handle, struct timeval* timeout);

/* [impl] Copy up to 'len' bytes of diagnostic text about the request into
 * 'msg'.  Returns the size needed including the NUL (0 = no messages), or
 * -1 with errno. */
extern int cr_log_checkpoint(cr_checkpoint_handle_t* handle, unsigned int len, char* msg);

/* [impl] Collect the outcome of a completed request and release the handle.
 * Returns >= 0 on success (BLCR in practice returns 0).  On -1 errno is:
 * EAGAIN (not complete; handle still valid), CR_ERESTARTED (the caller is
 * a restarted image of a checkpoint that included itself: not an error),
 * CR_ETEMPFAIL / CR_EPERMFAIL / a callback's own code, ESRCH (every target
 * omitted itself or exited), CR_ENOSUPPORT, EIO, ENOSPC, EINVAL, ... */
extern int cr_reap_checkpoint(cr_checkpoint_handle_t* handle);

/* [impl] Wait + (optionally) fetch messages + reap.  Returns 1 when the
 * request completed successfully, 0 on timeout, or CR_POLL_CHKPT_ERR_PRE /
 * _LOG / _POST with errno from the failing step.  *msg_p (if msg_p is not
 * NULL) receives a malloc()ed string the caller must free(). */
extern int cr_poll_checkpoint_msg(cr_checkpoint_handle_t* handle, struct timeval* timeout, char** msg_p);

/* [impl] cr_poll_checkpoint_msg(handle, timeout, NULL). */
extern int cr_poll_checkpoint(cr_checkpoint_handle_t* handle, struct timeval* timeout);

/* [compat] From inside a callback (before its cr_checkpoint()), add more
 * processes to the running request.  crcore: returns -1 with errno
 * CR_ENOTCB outside a callback, otherwise -1 with errno ENOSYS until
 * multi-process requests exist. */
extern int cr_forward_checkpoint(cr_scope_t scope, pid_t target);

/* ======================================================================
 * Functions: callback-time information
 * ====================================================================== */

/* [impl] Details of the checkpoint being taken; NULL outside a callback.
 * The struct is thread-local and only valid until this thread's
 * outermost callback returns; read it before calling cr_checkpoint(). */
extern const struct cr_checkpoint_info* cr_get_checkpoint_info(void);

/* [impl] Details of the restart in progress; NULL outside a callback.
 * Meaningful only after cr_checkpoint() returned a positive value. */
extern const struct cr_restart_info* cr_get_restart_info(void);

/* ======================================================================
 * Functions: restart requests (BLCR marked these experimental)
 * ====================================================================== */

/* [compat] Defaults for a cr_restart_args_t.  crcore: implemented (pure
 * data), returns 0 or -1/EINVAL. */
#define cr_initialize_restart_args_t(args) cri_init_restart_args_t(CR_RESTART_ARGS_VERSION, (args))
extern int cri_init_restart_args_t(cr_version_t version, cr_restart_args_t* args);

/* [compat] Restart the image readable from args->cr_fd as new processes.
 * crcore: returns -1 with errno ENOSYS (restart through the crcore
 * cr_restart tool).  The wait/log/reap/poll calls below then fail with
 * errno EINVAL (no such request). */
extern int cr_request_restart(cr_restart_args_t* args, cr_restart_handle_t* handle);
extern int cr_wait_restart(cr_restart_handle_t* handle, struct timeval* timeout);
extern int cr_log_restart(cr_restart_handle_t* handle, unsigned int len, char* msg);
/* On success BLCR returns the pid of the restarted process (> 0). */
extern int cr_reap_restart(cr_restart_handle_t* handle);
extern int cr_poll_restart_msg(cr_restart_handle_t* handle, struct timeval* timeout, char** msg_p);
extern int cr_poll_restart(cr_restart_handle_t* handle, struct timeval* timeout);

/* ======================================================================
 * Functions: utilities
 * ====================================================================== */

/* [impl] Message for 'errnum': BLCR's own text for CR_E* codes, otherwise
 * strerror(errnum).  The string must not be modified. */
extern const char* cr_strerror(int errnum);

/* [impl] Signal-safe spinlocks.  trylock returns non-zero iff acquired. */
extern void cr_spinlock_init(cr_spinlock_t* lock);
extern void cr_spinlock_lock(cr_spinlock_t* lock);
extern void cr_spinlock_unlock(cr_spinlock_t* lock);
extern int cr_spinlock_trylock(cr_spinlock_t* lock);

/* [compat] Install 'fn' for 'event' (process-wide, like signal(2)); NULL
 * removes it.  Returns the previous function, or CR_HOOK_FN_ERROR with
 * errno CR_ENOINIT or EINVAL.  crcore: registrations are accepted and
 * stored; running them at the events above is planned, not promised yet. */
extern cr_hook_fn_t cr_register_hook(cr_hook_event_t event, cr_hook_fn_t fn);

/* [compat] Read/set whether threads wait at a barrier for all callbacks
 * before resuming.  Returns the previous value, or -1 with errno
 * CR_ENOINIT or EINVAL.  crcore: values are stored and returned; threads
 * are always held (CR_HOLD_BOTH behaviour). */
extern int cr_hold_ctrl(int scope, int flags);

/* [compat] Pin/unpin this thread's libcr state past thread exit (for use
 * from TLS destructors).  Return the previous count, or -1 with errno
 * CR_ENOINIT or ERANGE.  crcore: implemented as a plain counter. */
extern int cr_inc_persist(void);
extern int cr_dec_persist(void);

/* [compat] Pre-0.6 request calls, deprecated in BLCR: checkpoint the
 * calling process (to its cwd, to 'filename', or to 'fd') without waiting.
 * crcore: implemented on top of cr_request_checkpoint() with scope
 * CR_SCOPE_PROC; errors are silently dropped, as in BLCR. */
extern void cr_request(void) CRCORE_LIBCR_DEPRECATED_;
extern void cr_request_file(const char* filename) CRCORE_LIBCR_DEPRECATED_;
extern void cr_request_fd(int fd) CRCORE_LIBCR_DEPRECATED_;

/* Link-check symbol: "-lcr -u cr_link_me" forces libcr into static links. */
extern int cr_link_me;

/* ======================================================================
 * crcore extensions -- not part of BLCR.  Everything here is prefixed
 * crcore_/CRCORE_ so it can never collide with a BLCR name.
 * ====================================================================== */

/* [impl] Version string of the crcore library actually linked. */
extern const char* crcore_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CRCORE_LIBCR_H */
