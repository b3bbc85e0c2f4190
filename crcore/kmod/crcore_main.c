// SPDX-License-Identifier: GPL-2.0
/*
 * crcore.ko: the kernel-module backend of crcore (docs/kmod.md).
 *
 * A misc device, /dev/crcore, with versioned ioctls (crcore_ioctl.h). BLCR's protocol:
 *  - a process running the crcore runtime registers its manager thread as a client (the
 *    callback thread);
 *  - a requester asks for a checkpoint of a pid: the module checks access itself, queues the
 *    request and wakes the client (phase 1: the device polls readable, the manager takes it and
 *    runs the thread-context callbacks);
 *  - the manager triggers phase 2: the module queues a task_work on every other thread of the
 *    process; on its way back to user mode each thread records the registers of the interrupted
 *    code (pt_regs, FS/GS base) in the module and gets the phase-2 signal queued to itself, whose
 *    handler parks it (signal-context callbacks);
 *  - the manager reports the result (phase completion) and waits for the requester's commit;
 *    the requester polls for the result and commits.
 * The image itself is written by the runtime in user space, in crcore's image format.
 *
 * Lifetimes: every object is reachable from an open file. A request is referenced by its
 * requester's file, by its client while pending or active, and by each queued task_work. A
 * queued task_work also holds a reference on the client's struct file, which pins this module
 * until the work has run: the last fput happens in core kernel code.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/msr.h>
#include <asm/ptrace.h>

#include "crcore_ioctl.h"

#define CRK_MAX_REQUESTS_PER_FILE 64

struct crk_client;

struct crk_thread {
	struct callback_head work;
	struct crk_request *req;
	struct file *pin;	  /* the client's file: keeps the module loaded until the work ran */
	struct task_struct *task; /* identity only, never dereferenced after the scan */
	struct crcore_thread_regs regs;
};

struct crk_request {
	struct kref ref;
	struct list_head node; /* in the requester's file */
	u64 id;
	struct crcore_request args;
	struct file *image;
	struct pid *requester;
	struct crk_client *client; /* NULL once the client is gone */
	bool done, requester_gone, commit_seen;
	u32 committed;
	struct crcore_result result;
	wait_queue_head_t wq;
	/* phase 2 */
	int signal;
	struct crk_thread *threads;
	u32 nthreads;
	atomic_t works_pending;
};

struct crk_client {
	struct list_head node;
	struct pid *tgid;
	int signal;
	wait_queue_head_t wq; /* a request is pending */
	struct crk_request *pending, *active;
};

struct crk_file {
	struct crk_client *client;
	struct list_head requests;
	unsigned int nrequests;
};

static DEFINE_MUTEX(crk_lock); /* clients, request state, file lists */
static LIST_HEAD(crk_clients);
static u64 crk_next_id;
static atomic_t crk_live_clients = ATOMIC_INIT(0);
static atomic_t crk_live_requests = ATOMIC_INIT(0);
static atomic64_t crk_completed = ATOMIC64_INIT(0);

static void crk_request_free(struct kref *ref)
{
	struct crk_request *req = container_of(ref, struct crk_request, ref);

	if (req->image)
		fput(req->image);
	put_pid(req->requester);
	kvfree(req->threads);
	kfree(req);
	atomic_dec(&crk_live_requests);
}

static void crk_request_put(struct crk_request *req)
{
	kref_put(&req->ref, crk_request_free);
}

/* The request ends without the runtime's answer. Called with crk_lock held. */
static void crk_fail_locked(struct crk_request *req, s32 error, const char *why)
{
	if (!req->done) {
		req->result.status = CRCORE_STATUS_TARGET_GONE;
		req->result.error = error;
		strscpy(req->result.message, why, sizeof(req->result.message));
		req->done = true;
	}
	req->client = NULL;
	wake_up_all(&req->wq);
}

static struct crk_client *crk_find_client_locked(struct pid *tgid)
{
	struct crk_client *c;

	list_for_each_entry(c, &crk_clients, node) if (c->tgid == tgid) return c;
	return NULL;
}

static int crk_open(struct inode *inode, struct file *file)
{
	struct crk_file *fp = kzalloc(sizeof(*fp), GFP_KERNEL);

	if (!fp)
		return -ENOMEM;
	INIT_LIST_HEAD(&fp->requests);
	file->private_data = fp;
	return 0;
}

static int crk_release(struct inode *inode, struct file *file)
{
	struct crk_file *fp = file->private_data;
	struct crk_request *req, *next;
	struct crk_client *client;

	mutex_lock(&crk_lock);
	/* As a requester: the runtime sees no commit; a request not yet taken is dropped. */
	list_for_each_entry_safe(req, next, &fp->requests, node)
	{
		req->requester_gone = true;
		if (req->client && req->client->pending == req) {
			req->client->pending = NULL;
			req->client = NULL;
			crk_request_put(req); /* the client's reference */
		}
		wake_up_all(&req->wq);
		list_del(&req->node);
		crk_request_put(req); /* the requester's reference */
	}
	/* As a client: the process is going away (or closed the device). */
	client = fp->client;
	if (client) {
		list_del(&client->node);
		if (client->pending) {
			crk_fail_locked(client->pending, -ESRCH, "the target process exited before its checkpoint");
			crk_request_put(client->pending);
		}
		if (client->active) {
			crk_fail_locked(client->active, -ESRCH, "the target process exited during its checkpoint");
			crk_request_put(client->active);
		}
		put_pid(client->tgid);
		kfree(client);
		atomic_dec(&crk_live_clients);
	}
	mutex_unlock(&crk_lock);
	kfree(fp);
	return 0;
}

static long crk_version(void __user *arg)
{
	struct crcore_version v = {
		.abi = CRCORE_KMOD_ABI,
		.max_threads = CRCORE_KMOD_MAX_THREADS,
		.clients = atomic_read(&crk_live_clients),
		.requests = atomic_read(&crk_live_requests),
		.completed = atomic64_read(&crk_completed),
	};

	return copy_to_user(arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long crk_register(struct crk_file *fp, void __user *arg)
{
	struct crcore_register r;
	struct crk_client *client;
	struct pid *tgid;
	long rc = 0;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.abi != CRCORE_KMOD_ABI)
		return -EPROTO;
	if (r.signal < 1 || r.signal > _NSIG || r.signal == SIGKILL || r.signal == SIGSTOP)
		return -EINVAL;
	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client)
		return -ENOMEM;
	tgid = get_pid(task_tgid(current));
	mutex_lock(&crk_lock);
	if (fp->client)
		rc = -EBUSY;
	else if (crk_find_client_locked(tgid))
		rc = -EEXIST;
	if (rc == 0) {
		client->tgid = tgid;
		client->signal = r.signal;
		init_waitqueue_head(&client->wq);
		list_add(&client->node, &crk_clients);
		fp->client = client;
		atomic_inc(&crk_live_clients);
	}
	mutex_unlock(&crk_lock);
	if (rc) {
		put_pid(tgid);
		kfree(client);
	}
	return rc;
}

/* The requester may checkpoint `task`: it owns it, or has CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE.
 * ptrace_may_access is not exported, so the rule is spelled out here. */
static int crk_may_checkpoint(struct task_struct *task)
{
	const struct cred *cred = current_cred();
	const struct cred *tcred;
	bool privileged = capable(CAP_SYS_ADMIN) || capable(CAP_CHECKPOINT_RESTORE);
	bool owner;
	struct mm_struct *mm;
	int dumpable;

	rcu_read_lock();
	tcred = __task_cred(task);
	owner = uid_eq(cred->euid, tcred->uid) && uid_eq(cred->euid, tcred->euid) && uid_eq(cred->euid, tcred->suid);
	rcu_read_unlock();
	if (!owner && !privileged)
		return -EPERM;
	mm = get_task_mm(task);
	if (!mm)
		return -ESRCH;
	dumpable = get_dumpable(mm);
	mmput(mm);
	if (dumpable != SUID_DUMP_USER && !privileged)
		return -EPERM;
	return 0;
}

static long crk_request(struct crk_file *fp, void __user *arg)
{
	struct crcore_request r;
	struct crk_request *req;
	struct crk_client *client;
	struct task_struct *task;
	struct file *image;
	long rc;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.abi != CRCORE_KMOD_ABI)
		return -EPROTO;
	if (r.scope != CRCORE_SCOPE_PROCESS)
		return -EOPNOTSUPP;
	if (r.pid <= 0)
		return -EINVAL;
	rcu_read_lock();
	task = pid_task(find_vpid(r.pid), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (!task)
		return -ESRCH;
	rc = crk_may_checkpoint(task);
	if (rc)
		goto out_task;
	image = fget(r.image_fd);
	if (!image) {
		rc = -EBADF;
		goto out_task;
	}
	if (!(image->f_mode & FMODE_WRITE)) {
		fput(image);
		rc = -EBADF;
		goto out_task;
	}
	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req) {
		fput(image);
		rc = -ENOMEM;
		goto out_task;
	}
	atomic_inc(&crk_live_requests);
	kref_init(&req->ref); /* the requester's reference */
	init_waitqueue_head(&req->wq);
	req->args = r;
	req->image = image;
	req->requester = get_pid(task_tgid(current));
	atomic_set(&req->works_pending, 0);

	mutex_lock(&crk_lock);
	client = crk_find_client_locked(task_tgid(task));
	if (!client)
		rc = -ENOENT; /* not running the crcore runtime */
	else if (client->pending || client->active)
		rc = -EBUSY;
	else if (fp->nrequests >= CRK_MAX_REQUESTS_PER_FILE)
		rc = -EMFILE;
	if (rc == 0) {
		req->id = ++crk_next_id;
		req->signal = client->signal;
		req->client = client;
		kref_get(&req->ref); /* the client's reference */
		client->pending = req;
		list_add(&req->node, &fp->requests);
		fp->nrequests++;
		r.id = req->id;
		wake_up_all(&client->wq); /* phase 1: wake the callback thread */
	}
	mutex_unlock(&crk_lock);
	if (rc) {
		crk_request_put(req);
		goto out_task;
	}
	if (copy_to_user(arg, &r, sizeof(r)))
		rc = -EFAULT; /* the request stands; it ends with the requester's file */
out_task:
	put_task_struct(task);
	return rc;
}

static long crk_take(struct crk_file *fp, void __user *arg)
{
	struct crcore_take t;
	struct crk_client *client;
	struct crk_request *req;
	int fd;
	long rc = 0;

	if (copy_from_user(&t, arg, sizeof(t)))
		return -EFAULT;
	if (t.abi != CRCORE_KMOD_ABI)
		return -EPROTO;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	mutex_lock(&crk_lock);
	client = fp->client;
	if (!client) {
		rc = -EINVAL;
		goto out;
	}
	req = client->pending;
	if (!req) {
		rc = -EAGAIN;
		goto out;
	}
	t.image_fd = fd;
	t.id = req->id;
	t.requester_pid = pid_nr_ns(req->requester, task_active_pid_ns(current));
	t.after = req->args.after;
	t.flags = req->args.flags;
	t.timeout_ms = req->args.timeout_ms;
	t.compress_level = req->args.compress_level;
	if (copy_to_user(arg, &t, sizeof(t))) {
		rc = -EFAULT;
		goto out;
	}
	client->pending = NULL;
	client->active = req;
	fd_install(fd, get_file(req->image));
	fd = -1;
out:
	mutex_unlock(&crk_lock);
	if (fd >= 0)
		put_unused_fd(fd);
	return rc;
}

/* Runs in each thread of the client on its way back to user mode (or in do_exit). */
static void crk_thread_work(struct callback_head *cb)
{
	struct crk_thread *th = container_of(cb, struct crk_thread, work);
	struct crk_request *req = th->req;
	struct file *pin = th->pin;

	if (current->flags & PF_EXITING) {
		th->regs.state = CRCORE_THREAD_EXITING;
	} else {
		struct pt_regs *regs = task_pt_regs(current);
		struct crcore_thread_regs *out = &th->regs;
		u64 base;

		out->r15 = regs->r15;
		out->r14 = regs->r14;
		out->r13 = regs->r13;
		out->r12 = regs->r12;
		out->rbp = regs->bp;
		out->rbx = regs->bx;
		out->r11 = regs->r11;
		out->r10 = regs->r10;
		out->r9 = regs->r9;
		out->r8 = regs->r8;
		out->rax = regs->ax;
		out->rcx = regs->cx;
		out->rdx = regs->dx;
		out->rsi = regs->si;
		out->rdi = regs->di;
		out->orig_rax = regs->orig_ax;
		out->rip = regs->ip;
		out->cs = regs->cs;
		out->eflags = regs->flags;
		out->rsp = regs->sp;
		out->ss = regs->ss;
		/* In the kernel the user's FS base is live in its MSR, the user's GS base in
		 * MSR_KERNEL_GS_BASE (after swapgs). */
		rdmsrl(MSR_FS_BASE, base);
		out->fs_base = base;
		rdmsrl(MSR_KERNEL_GS_BASE, base);
		out->gs_base = base;
		th->regs.state = CRCORE_THREAD_CAPTURED;
		send_sig_info(req->signal, SEND_SIG_PRIV, current);
	}
	smp_mb__before_atomic();
	if (atomic_dec_and_test(&req->works_pending))
		wake_up_all(&req->wq);
	crk_request_put(req);
	fput(pin); /* last: may drop the module's last pin (in core code, after we return) */
}

static bool crk_listed(struct crk_request *req, struct task_struct *t)
{
	u32 i;

	for (i = 0; i < req->nthreads; i++)
		if (req->threads[i].task == t)
			return true;
	return false;
}

/* Queues the work on every thread of the caller's process not yet listed. Returns how many
 * were added, or a negative errno. */
static int crk_scan_threads(struct crk_request *req, struct file *pin)
{
	struct task_struct *t;
	int added = 0;

	rcu_read_lock();
	for_each_thread(current, t)
	{
		struct crk_thread *th;

		if (t == current || crk_listed(req, t))
			continue;
		if (req->nthreads >= CRCORE_KMOD_MAX_THREADS) {
			added = -E2BIG;
			break;
		}
		th = &req->threads[req->nthreads++];
		th->req = req;
		th->task = t;
		th->regs.tid = task_pid_vnr(t);
		th->pin = get_file(pin);
		kref_get(&req->ref);
		atomic_inc(&req->works_pending);
		init_task_work(&th->work, crk_thread_work);
		if (task_work_add(t, &th->work, TWA_SIGNAL) != 0) {
			/* already past exit_task_work: the thread is gone */
			th->regs.state = CRCORE_THREAD_EXITING;
			atomic_dec(&req->works_pending);
			kref_put(&req->ref, crk_request_free); /* never the last: we hold one */
			fput(th->pin);
		}
		added++;
	}
	rcu_read_unlock();
	return added;
}

static long crk_phase2(struct crk_file *fp, struct file *file, void __user *arg)
{
	struct crcore_phase2 p;
	struct crk_request *req;
	struct crk_thread *threads;
	unsigned long deadline;
	long rc = 0;
	u32 i;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (p.abi != CRCORE_KMOD_ABI)
		return -EPROTO;
	threads = kvcalloc(CRCORE_KMOD_MAX_THREADS, sizeof(*threads), GFP_KERNEL);
	if (!threads)
		return -ENOMEM;
	mutex_lock(&crk_lock);
	req = fp->client ? fp->client->active : NULL;
	if (!req || req->id != p.id)
		rc = -ENOENT;
	else if (req->threads)
		rc = -EBUSY; /* phase 2 runs once per request */
	if (rc == 0) {
		req->threads = threads;
		kref_get(&req->ref);
	}
	mutex_unlock(&crk_lock);
	if (rc) {
		kvfree(threads);
		return rc;
	}
	deadline = jiffies + msecs_to_jiffies(p.timeout_ms);
	/* Threads created while others stop are found by the next scan: a thread's work runs when
	 * it returns to user mode, after any clone it was in has linked the child. */
	for (;;) {
		long left = MAX_SCHEDULE_TIMEOUT;
		int added = crk_scan_threads(req, file);

		if (added < 0) {
			rc = added;
			break;
		}
		if (added == 0)
			break;
		if (p.timeout_ms) {
			left = (long)(deadline - jiffies);
			if (left <= 0) {
				rc = -ETIMEDOUT;
				break;
			}
		}
		left = wait_event_interruptible_timeout(req->wq, atomic_read(&req->works_pending) == 0, left);
		if (left < 0) {
			rc = -EINTR;
			break;
		}
		if (left == 0 && atomic_read(&req->works_pending) != 0) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	smp_mb();
	p.count = req->nthreads;
	p.captured = 0;
	p.exiting = 0;
	for (i = 0; i < req->nthreads; i++) {
		u32 state = READ_ONCE(req->threads[i].regs.state);

		p.captured += state == CRCORE_THREAD_CAPTURED;
		p.exiting += state == CRCORE_THREAD_EXITING;
	}
	if (rc == 0) {
		u32 n = min(p.capacity, req->nthreads);
		struct crcore_thread_regs __user *out = u64_to_user_ptr(p.regs);

		for (i = 0; i < n && rc == 0; i++)
			if (copy_to_user(&out[i], &req->threads[i].regs, sizeof(out[i])))
				rc = -EFAULT;
		req->result.kernel_captured = p.captured;
	}
	crk_request_put(req);
	if (rc == 0 && copy_to_user(arg, &p, sizeof(p)))
		rc = -EFAULT;
	return rc;
}

static long crk_done(struct crk_file *fp, void __user *arg)
{
	struct crcore_done *d;
	struct crk_request *req;
	long rc = 0;

	d = kmalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	if (copy_from_user(d, arg, sizeof(*d))) {
		rc = -EFAULT;
		goto out_free;
	}
	if (d->abi != CRCORE_KMOD_ABI) {
		rc = -EPROTO;
		goto out_free;
	}
	mutex_lock(&crk_lock);
	req = fp->client ? fp->client->active : NULL;
	if (!req || req->id != d->id) {
		mutex_unlock(&crk_lock);
		rc = -ENOENT;
		goto out_free;
	}
	d->result.message[sizeof(d->result.message) - 1] = '\0';
	d->result.kernel_captured = req->result.kernel_captured;
	req->result = d->result;
	req->done = true;
	if (req->threads)
		atomic64_inc(&crk_completed);
	kref_get(&req->ref);
	wake_up_all(&req->wq);
	mutex_unlock(&crk_lock);

	if (d->wait_ms)
		wait_event_interruptible_timeout(req->wq, READ_ONCE(req->commit_seen) || READ_ONCE(req->requester_gone),
						 msecs_to_jiffies(d->wait_ms));
	mutex_lock(&crk_lock);
	d->committed = req->commit_seen ? req->committed : 0;
	if (fp->client && fp->client->active == req) {
		fp->client->active = NULL;
		req->client = NULL;
		crk_request_put(req); /* the client's reference */
	}
	mutex_unlock(&crk_lock);
	crk_request_put(req);
	if (copy_to_user(arg, d, sizeof(*d)))
		rc = -EFAULT;
out_free:
	kfree(d);
	return rc;
}

static struct crk_request *crk_own_request_locked(struct crk_file *fp, u64 id)
{
	struct crk_request *req;

	list_for_each_entry(req, &fp->requests, node) if (req->id == id) return req;
	return NULL;
}

static long crk_poll_result(struct crk_file *fp, void __user *arg)
{
	struct crcore_poll *p;
	struct crk_request *req;
	long rc = 0;

	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	if (copy_from_user(p, arg, sizeof(*p))) {
		rc = -EFAULT;
		goto out_free;
	}
	if (p->abi != CRCORE_KMOD_ABI) {
		rc = -EPROTO;
		goto out_free;
	}
	mutex_lock(&crk_lock);
	req = crk_own_request_locked(fp, p->id);
	if (req)
		kref_get(&req->ref);
	mutex_unlock(&crk_lock);
	if (!req) {
		rc = -ENOENT;
		goto out_free;
	}
	if (!READ_ONCE(req->done)) {
		if (p->wait_ms == 0) {
			rc = -EAGAIN;
		} else if (p->wait_ms == ~0u) {
			rc = wait_event_interruptible(req->wq, READ_ONCE(req->done));
		} else {
			long left = wait_event_interruptible_timeout(req->wq, READ_ONCE(req->done),
								     msecs_to_jiffies(p->wait_ms));
			rc = left < 0 ? left : left == 0 && !READ_ONCE(req->done) ? -ETIMEDOUT : 0;
		}
	}
	if (rc == 0) {
		mutex_lock(&crk_lock);
		p->result = req->result;
		mutex_unlock(&crk_lock);
		if (copy_to_user(arg, p, sizeof(*p)))
			rc = -EFAULT;
	}
	crk_request_put(req);
out_free:
	kfree(p);
	return rc;
}

static long crk_commit(struct crk_file *fp, void __user *arg)
{
	struct crcore_commit c;
	struct crk_request *req;
	long rc = 0;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.abi != CRCORE_KMOD_ABI)
		return -EPROTO;
	mutex_lock(&crk_lock);
	req = crk_own_request_locked(fp, c.id);
	if (!req) {
		rc = -ENOENT;
	} else if (!req->done) {
		rc = -EINPROGRESS;
	} else {
		req->committed = c.committed ? 1 : 0;
		req->commit_seen = true;
		wake_up_all(&req->wq);
		/* The request is over for the requester. */
		list_del(&req->node);
		fp->nrequests--;
		crk_request_put(req);
	}
	mutex_unlock(&crk_lock);
	return rc;
}

static long crk_restore_thread(void __user *arg)
{
	struct crcore_restore_thread r;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.abi != CRCORE_KMOD_ABI)
		return -EPROTO;
	if (r.flags & ~(CRCORE_RESTORE_FS_BASE | CRCORE_RESTORE_GS_BASE))
		return -EINVAL;
	if (((r.flags & CRCORE_RESTORE_FS_BASE) && r.fs_base >= TASK_SIZE_MAX) ||
	    ((r.flags & CRCORE_RESTORE_GS_BASE) && r.gs_base >= TASK_SIZE_MAX))
		return -EINVAL;
	/* What arch_prctl(ARCH_SET_FS/GS) does for the current task: zero selector, base in the
	 * thread struct and in the live register (user GS lives in MSR_KERNEL_GS_BASE here). */
	preempt_disable();
	if (r.flags & CRCORE_RESTORE_FS_BASE) {
		current->thread.fsindex = 0;
		current->thread.fsbase = r.fs_base;
		loadsegment(fs, 0);
		wrmsrl(MSR_FS_BASE, r.fs_base);
	}
	if (r.flags & CRCORE_RESTORE_GS_BASE) {
		current->thread.gsindex = 0;
		current->thread.gsbase = r.gs_base;
		wrmsrl(MSR_KERNEL_GS_BASE, r.gs_base);
	}
	preempt_enable();
	return 0;
}

static long crk_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct crk_file *fp = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CRCORE_IOC_VERSION:
		return crk_version(uarg);
	case CRCORE_IOC_REGISTER:
		return crk_register(fp, uarg);
	case CRCORE_IOC_REQUEST:
		return crk_request(fp, uarg);
	case CRCORE_IOC_TAKE:
		return crk_take(fp, uarg);
	case CRCORE_IOC_PHASE2:
		return crk_phase2(fp, file, uarg);
	case CRCORE_IOC_DONE:
		return crk_done(fp, uarg);
	case CRCORE_IOC_POLL:
		return crk_poll_result(fp, uarg);
	case CRCORE_IOC_COMMIT:
		return crk_commit(fp, uarg);
	case CRCORE_IOC_RESTORE_THREAD:
		return crk_restore_thread(uarg);
	default:
		return -ENOTTY;
	}
}

static __poll_t crk_poll(struct file *file, poll_table *wait)
{
	struct crk_file *fp = file->private_data;
	struct crk_client *client;
	__poll_t mask = 0;

	mutex_lock(&crk_lock);
	client = fp->client;
	if (client) {
		poll_wait(file, &client->wq, wait);
		if (client->pending)
			mask = EPOLLIN | EPOLLRDNORM;
	}
	mutex_unlock(&crk_lock);
	return mask;
}

static const struct file_operations crk_fops = {
	.owner = THIS_MODULE,
	.open = crk_open,
	.release = crk_release,
	.unlocked_ioctl = crk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = crk_poll,
	.llseek = noop_llseek,
};

static struct miscdevice crk_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "crcore",
	.fops = &crk_fops,
	.mode = 0666,
};

static int __init crk_init(void)
{
	int rc = misc_register(&crk_device);

	if (rc == 0)
		pr_info("crcore: /dev/crcore ready (ABI %d)\n", CRCORE_KMOD_ABI);
	return rc;
}

static void __exit crk_exit(void)
{
	misc_deregister(&crk_device);
	pr_info("crcore: unloaded\n");
}

module_init(crk_init);
module_exit(crk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("crcore checkpoint/restart: BLCR-style phase 1/phase 2 in the kernel");
MODULE_VERSION("0.1");
