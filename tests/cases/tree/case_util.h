/* The case protocol (tests/cases/tree/CASES): READY once every process and resource is live,
 * then wait (polling every 10 ms) for GO, then use them and print deterministic results. */
#ifndef CRCORE_TREE_CASE_UTIL_H
#define CRCORE_TREE_CASE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline const char* case_env(const char* name) {
  const char* v = getenv(name);
  if (v == NULL || *v == '\0') {
    fprintf(stderr, "case: %s is not set (run under the case runner)\n", name);
    exit(2);
  }
  return v;
}

/* Fails the case loudly: a message on stderr and exit status 1. */
static inline void case_die(const char* what) {
  fprintf(stderr, "case: %s: %s\n", what, strerror(errno));
  exit(1);
}

static inline void case_ready(void) {
  int fd = open(case_env("CRCORE_CASE_READY"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    case_die("cannot create the READY file");
  }
  close(fd);
}

static inline void case_wait_go(void) {
  const char* go = case_env("CRCORE_CASE_GO");
  struct stat st;
  while (stat(go, &st) != 0) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
}

/* Waits (with a 10 ms poll) until `path` exists: how a parent learns that a child is set up. */
static inline void case_wait_file(const char* path) {
  struct stat st;
  while (stat(path, &st) != 0) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
}

static inline pid_t case_fork(void) {
  fflush(NULL); /* nothing buffered is printed twice */
  pid_t pid = fork();
  if (pid < 0) {
    case_die("fork");
  }
  return pid;
}

/* "exit N" or "signal N" for a wait status. */
static inline void case_print_status(const char* who, int status) {
  if (WIFEXITED(status)) {
    printf("%s: exit %d\n", who, WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    printf("%s: signal %d\n", who, WTERMSIG(status));
  } else {
    printf("%s: status %#x\n", who, status);
  }
}

static inline int case_wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      case_die("waitpid");
    }
  }
  return status;
}

static inline void case_write_all(int fd, const void* data, size_t size) {
  const char* p = (const char*)data;
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      case_die("write");
    }
    p += n;
    size -= (size_t)n;
  }
}

/* Reads until EOF; returns the byte count. */
static inline size_t case_read_all(int fd, char* buf, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      case_die("read");
    }
    if (n == 0 || got + (size_t)n == cap) {
      return got + (size_t)n;
    }
    got += (size_t)n;
  }
}

static inline unsigned long case_checksum(const char* buf, size_t n) {
  unsigned long h = 1469598103934665603ul;
  for (size_t i = 0; i < n; ++i) {
    h = (h ^ (unsigned char)buf[i]) * 1099511628211ul;
  }
  return h;
}

/* A marker file beside READY: READY.NAME. */
static inline void case_marker(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s.%s", case_env("CRCORE_CASE_READY"), name);
}

static inline void case_touch(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    case_die("cannot create a marker file");
  }
  close(fd);
}

#endif
