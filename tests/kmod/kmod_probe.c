/* kmod_probe: speaks /dev/crcore's ioctls directly, for tests/kmod/guest_tests.sh.
 *
 *   kmod_probe version             prints "abi A clients C requests R completed N"
 *   kmod_probe malformed           every ioctl with bad arguments: checks each errno, prints one line
 *                                  per case, exits 1 if any case answered wrongly
 *   kmod_probe access PID          as uid/gid 65534, asks for a checkpoint of PID: must get EPERM
 *   kmod_probe request PID FILE    asks for a checkpoint of PID into FILE (temporary-name flag), waits
 *                                  for the result and prints it (status, message); no commit
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "crcore_ioctl.h"

static int failures;

static int open_device(void) {
  int fd = open(CRCORE_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "kmod_probe: cannot open %s: %s\n", CRCORE_KMOD_DEVICE, strerror(errno));
    exit(2);
  }
  return fd;
}

/* expect(NAME, RC, ERRNO): the call returned -1 with ERRNO. */
static void expect(const char* name, int rc, int want) {
  int got = rc == 0 ? 0 : errno;
  if (got == want) {
    printf("ok   %-44s %s\n", name, want == 0 ? "succeeds" : strerror(want));
  } else {
    printf("FAIL %-44s wanted %s, got %s\n", name, want == 0 ? "success" : strerror(want),
           got == 0 ? "success" : strerror(got));
    ++failures;
  }
}

static int malformed(void) {
  int fd = open_device();
  void* bad = (void*)16; /* never mapped */
  struct crcore_version v;
  expect("VERSION into an unmapped address", ioctl(fd, CRCORE_IOC_VERSION, bad), EFAULT);
  expect("VERSION", ioctl(fd, CRCORE_IOC_VERSION, &v), 0);
  expect("unknown command", ioctl(fd, _IOW(CRCORE_IOC_MAGIC, 77, int), &v), ENOTTY);
  expect("VERSION with a wrong size in the number", ioctl(fd, _IOR(CRCORE_IOC_MAGIC, 1, int), &v), ENOTTY);

  struct crcore_register reg = {CRCORE_KMOD_ABI + 1, 64};
  expect("REGISTER with another ABI", ioctl(fd, CRCORE_IOC_REGISTER, &reg), EPROTO);
  expect("REGISTER from an unmapped address", ioctl(fd, CRCORE_IOC_REGISTER, bad), EFAULT);
  int bad_signals[] = {0, -1, SIGKILL, SIGSTOP, 65, 1 << 30};
  for (unsigned i = 0; i < sizeof bad_signals / sizeof *bad_signals; ++i) {
    char name[64];
    struct crcore_register r = {CRCORE_KMOD_ABI, bad_signals[i]};
    snprintf(name, sizeof name, "REGISTER with signal %d", bad_signals[i]);
    expect(name, ioctl(fd, CRCORE_IOC_REGISTER, &r), EINVAL);
  }

  int image = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int readonly = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct crcore_request req = {CRCORE_KMOD_ABI, getpid(), CRCORE_SCOPE_PROCESS, image, 0, 0, 0, 0, 0};
  struct crcore_request r = req;
  r.abi = 0;
  expect("REQUEST with ABI 0", ioctl(fd, CRCORE_IOC_REQUEST, &r), EPROTO);
  r = req;
  r.scope = 2;
  expect("REQUEST for a process tree (scope 2)", ioctl(fd, CRCORE_IOC_REQUEST, &r), EOPNOTSUPP);
  r = req;
  r.pid = -1;
  expect("REQUEST for pid -1", ioctl(fd, CRCORE_IOC_REQUEST, &r), EINVAL);
  r.pid = 0;
  expect("REQUEST for pid 0", ioctl(fd, CRCORE_IOC_REQUEST, &r), EINVAL);
  r.pid = 4000000;
  expect("REQUEST for a pid that does not exist", ioctl(fd, CRCORE_IOC_REQUEST, &r), ESRCH);
  r = req;
  r.image_fd = -1;
  expect("REQUEST with image fd -1", ioctl(fd, CRCORE_IOC_REQUEST, &r), EBADF);
  r.image_fd = readonly;
  expect("REQUEST with a read-only image fd", ioctl(fd, CRCORE_IOC_REQUEST, &r), EBADF);
  r = req;
  expect("REQUEST for an unregistered process", ioctl(fd, CRCORE_IOC_REQUEST, &r), ENOENT);
  r.pid = 2; /* kthreadd: no mm */
  expect("REQUEST for a kernel thread", ioctl(fd, CRCORE_IOC_REQUEST, &r), ESRCH);
  expect("REQUEST from an unmapped address", ioctl(fd, CRCORE_IOC_REQUEST, bad), EFAULT);

  struct crcore_take take = {CRCORE_KMOD_ABI};
  expect("TAKE without registering", ioctl(fd, CRCORE_IOC_TAKE, &take), EINVAL);
  struct crcore_phase2 p2 = {CRCORE_KMOD_ABI};
  p2.id = 12345;
  expect("PHASE2 without a request", ioctl(fd, CRCORE_IOC_PHASE2, &p2), ENOENT);
  struct crcore_done done;
  memset(&done, 0, sizeof done);
  done.abi = CRCORE_KMOD_ABI;
  done.id = 12345;
  expect("DONE for no request", ioctl(fd, CRCORE_IOC_DONE, &done), ENOENT);
  struct crcore_poll poll;
  memset(&poll, 0, sizeof poll);
  poll.abi = CRCORE_KMOD_ABI;
  poll.id = 12345;
  expect("POLL for another file's request", ioctl(fd, CRCORE_IOC_POLL, &poll), ENOENT);
  struct crcore_commit commit = {CRCORE_KMOD_ABI, 1, 12345};
  expect("COMMIT for another file's request", ioctl(fd, CRCORE_IOC_COMMIT, &commit), ENOENT);

  /* As a registered client, with no request pending. */
  struct crcore_register ok = {CRCORE_KMOD_ABI, 64};
  expect("REGISTER", ioctl(fd, CRCORE_IOC_REGISTER, &ok), 0);
  expect("REGISTER twice on one descriptor", ioctl(fd, CRCORE_IOC_REGISTER, &ok), EBUSY);
  int second = open_device();
  expect("REGISTER the same process on a second descriptor", ioctl(second, CRCORE_IOC_REGISTER, &ok), EEXIST);
  close(second);
  expect("TAKE with nothing pending", ioctl(fd, CRCORE_IOC_TAKE, &take), EAGAIN);
  expect("PHASE2 with no active request", ioctl(fd, CRCORE_IOC_PHASE2, &p2), ENOENT);
  expect("DONE with no active request", ioctl(fd, CRCORE_IOC_DONE, &done), ENOENT);

  struct crcore_restore_thread rt = {CRCORE_KMOD_ABI, 4, 0, 0};
  expect("RESTORE_THREAD with an unknown flag", ioctl(fd, CRCORE_IOC_RESTORE_THREAD, &rt), EINVAL);
  rt.flags = CRCORE_RESTORE_FS_BASE;
  rt.fs_base = 0xffff888000000000ull;
  expect("RESTORE_THREAD with a kernel FS base", ioctl(fd, CRCORE_IOC_RESTORE_THREAD, &rt), EINVAL);
  /* A real one: this thread's own FS base, set again (arch_prctl must then report it). */
  unsigned long fs = 0;
  syscall(158 /* arch_prctl */, 0x1003 /* ARCH_GET_FS */, &fs);
  rt.fs_base = fs;
  expect("RESTORE_THREAD with this thread's FS base", ioctl(fd, CRCORE_IOC_RESTORE_THREAD, &rt), 0);
  unsigned long after = 0;
  syscall(158, 0x1003, &after);
  expect("FS base unchanged after RESTORE_THREAD", after == fs ? 0 : -1, 0);
  close(fd);
  close(image);
  close(readonly);
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}

static int access_check(int pid) {
  int fd = open_device();
  int image = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
    perror("kmod_probe: setresuid");
    return 2;
  }
  struct crcore_request r = {CRCORE_KMOD_ABI, pid, CRCORE_SCOPE_PROCESS, image, 0, 0, 0, 0, 0};
  expect("REQUEST by another user (uid 65534)", ioctl(fd, CRCORE_IOC_REQUEST, &r), EPERM);
  return failures ? 1 : 0;
}

static int request(int pid, const char* path) {
  int fd = open_device();
  int image = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (image < 0) {
    perror(path);
    return 2;
  }
  struct crcore_request r = {CRCORE_KMOD_ABI, pid, CRCORE_SCOPE_PROCESS, image, 0, 8 /* temporary name */, 0, 0, 0};
  if (ioctl(fd, CRCORE_IOC_REQUEST, &r) != 0) {
    printf("request refused: %s\n", strerror(errno));
    return 1;
  }
  printf("request %llu sent\n", (unsigned long long)r.id);
  fflush(stdout);
  struct crcore_poll p;
  memset(&p, 0, sizeof p);
  p.abi = CRCORE_KMOD_ABI;
  p.id = r.id;
  p.wait_ms = ~0u;
  if (ioctl(fd, CRCORE_IOC_POLL, &p) != 0) {
    printf("poll failed: %s\n", strerror(errno));
    return 1;
  }
  printf("status %u error %d captured %u message '%s'\n", p.result.status, p.result.error, p.result.kernel_captured,
         p.result.message);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "version") == 0) {
    int fd = open_device();
    struct crcore_version v;
    if (ioctl(fd, CRCORE_IOC_VERSION, &v) != 0) {
      perror("VERSION");
      return 1;
    }
    printf("abi %u clients %u requests %u completed %llu\n", v.abi, v.clients, v.requests,
           (unsigned long long)v.completed);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "malformed") == 0)
    return malformed();
  if (argc >= 3 && strcmp(argv[1], "access") == 0)
    return access_check(atoi(argv[2]));
  if (argc >= 4 && strcmp(argv[1], "request") == 0)
    return request(atoi(argv[2]), argv[3]);
  fprintf(stderr, "usage: kmod_probe version | malformed | access PID | request PID FILE\n");
  return 2;
}
