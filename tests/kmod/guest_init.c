/* PID 1 of the kmod test guest (tests/kmod/run_kmod_tests.sh builds it statically into a tiny
 * initramfs with the virtio and 9p modules).
 *
 * Loads the modules listed in /modules/order, mounts the host's root file system read-only over
 * 9p (mount tag "root"), gives it a fresh /dev, /proc, /sys and /run (scratch: /run/tmp), chroots into it and
 * runs the script named by the kernel parameter crcore_run=PATH (the kernel hands unknown
 * parameters to init as environment variables) with bash. Powers the guest off when the script
 * ends, after printing its exit status on the console. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char* what, const char* detail) {
  fprintf(stderr, "guest-init: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  for (;;)
    pause();
}

static int load_module(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = (int)syscall(SYS_finit_module, fd, "", 0);
  int e = errno;
  close(fd);
  if (rc != 0 && e != EEXIST) {
    errno = e;
    return -1;
  }
  return 0;
}

static void mount_or_die(const char* src, const char* dst, const char* type, unsigned long flags, const char* opts) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, flags, opts) != 0) {
    fprintf(stderr, "guest-init: mount %s on %s (%s): %s\n", src, dst, type, strerror(errno));
    power_off();
  }
}

int main(void) {
  mount_or_die("proc", "/proc", "proc", 0, NULL);
  FILE* order = fopen("/modules/order", "r");
  char name[256];
  while (order && fgets(name, sizeof name, order)) {
    name[strcspn(name, "\n")] = '\0';
    char path[512];
    snprintf(path, sizeof path, "/modules/%s", name);
    if (name[0] && load_module(path) != 0) {
      fprintf(stderr, "guest-init: cannot load %s: %s\n", path, strerror(errno));
      power_off();
    }
  }
  if (order)
    fclose(order);
  mount_or_die("root", "/newroot", "9p", MS_RDONLY, "trans=virtio,version=9p2000.L,msize=262144,cache=loose");
  mount_or_die("devtmpfs", "/newroot/dev", "devtmpfs", 0, NULL);
  mount_or_die("proc", "/newroot/proc", "proc", 0, NULL);
  mount_or_die("sysfs", "/newroot/sys", "sysfs", 0, NULL);
  /* The host's /tmp stays visible (read-only, like everything else): the build tree may live there.
   * The guest's scratch space is /run/tmp (TMPDIR). */
  mount_or_die("tmpfs", "/newroot/run", "tmpfs", 0, "mode=755");
  if (mkdir("/newroot/run/tmp", 01777) != 0 || chmod("/newroot/run/tmp", 01777) != 0) {
    say("mkdir /run/tmp", strerror(errno));
    power_off();
  }
  mount_or_die("tmpfs", "/newroot/dev/shm", "tmpfs", 0, "mode=1777");
  if (chroot("/newroot") != 0 || chdir("/") != 0) {
    say("chroot", strerror(errno));
    power_off();
  }
  const char* script = getenv("crcore_run");
  if (!script) {
    say("no crcore_run=SCRIPT on the kernel command line", NULL);
    power_off();
  }
  setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  setenv("HOME", "/run/tmp", 1);
  setenv("TMPDIR", "/run/tmp", 1);
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/bash", "bash", script, (char*)NULL);
    say("exec /bin/bash", strerror(errno));
    _exit(127);
  }
  int status = 0;
  for (;;) {
    /* PID 1 reaps every orphan; the script's own status ends the guest. */
    pid_t pid = wait(&status);
    if (pid == child || (pid < 0 && errno == ECHILD))
      break;
  }
  fprintf(stderr, "guest-init: script exit status %d\n",
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  power_off();
  return 0;
}
