/* libcrmpi_lower.so: the first object of the lower half's namespace (see crmpi_lower.h). Its symbols
 * come first in that namespace's lookup scope, so the calls below, made by libmpi and everything it
 * loads, reach these wrappers first; each forwards to the namespace's own libc (RTLD_NEXT) and
 * reports what was created:
 *   - dlopen without RTLD_GLOBAL: glibc 2.36 crashes on RTLD_GLOBAL in a non-base namespace, and Open
 *     MPI's component loader asks for it;
 *   - the address ranges of the namespace's objects (after every dlopen/dlclose);
 *   - threads (pthread_create returns only once the new thread is registered, so a checkpoint never
 *     sees a lower-half thread it does not know);
 *   - anonymous and file mappings made through mmap/mremap, undone by munmap;
 *   - descriptors from the calls that create them, undone by close.
 * Memory that the namespace's libc allocates for itself (malloc arenas) is not reported: it is saved
 * with the upper half as unused memory, which is harmless. */
#define _GNU_SOURCE
#include "crmpi_lower.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct crmpi_lower_hooks* g_hooks;

#define REAL(name)                                            \
  static __typeof__(name)* real_##name;                       \
  if (real_##name == NULL) {                                  \
    real_##name = (__typeof__(name)*)dlsym(RTLD_NEXT, #name); \
  }

static void note_fd(int fd) {
  if (fd >= 0 && g_hooks != NULL) {
    g_hooks->exclude_fd(fd);
  }
}

/* ---- objects ---- */

#define MAX_OBJECTS 512
struct object_range {
  uintptr_t start, end;
};
static struct object_range g_objects[MAX_OBJECTS];
static int g_object_count;
static pthread_mutex_t g_objects_lock = PTHREAD_MUTEX_INITIALIZER;

static int collect_object(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  int* count = data;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) {
      continue;
    }
    uintptr_t s = info->dlpi_addr + ph->p_vaddr;
    uintptr_t e = s + ph->p_memsz;
    if (s < lo)
      lo = s;
    if (e > hi)
      hi = e;
  }
  /* The dynamic linker itself is shared with the base namespace: it belongs to the upper half. */
  if (hi > lo && *count < MAX_OBJECTS && strstr(info->dlpi_name, "ld-linux") == NULL) {
    g_objects[*count].start = lo & ~(uintptr_t)4095;
    g_objects[*count].end = (hi + 4095) & ~(uintptr_t)4095;
    ++*count;
  }
  return 0;
}

void crmpi_lower_refresh_objects(void) {
  if (g_hooks == NULL) {
    return;
  }
  pthread_mutex_lock(&g_objects_lock);
  for (int i = 0; i < g_object_count; ++i) {
    g_hooks->include_memory((const void*)g_objects[i].start, g_objects[i].end - g_objects[i].start);
  }
  int count = 0;
  /* Called from this namespace, dl_iterate_phdr lists this namespace's objects only. */
  dl_iterate_phdr(collect_object, &count);
  g_object_count = count;
  for (int i = 0; i < g_object_count; ++i) {
    g_hooks->exclude_memory((const void*)g_objects[i].start, g_objects[i].end - g_objects[i].start);
  }
  pthread_mutex_unlock(&g_objects_lock);
}

int crmpi_lower_attach(const struct crmpi_lower_hooks* hooks) {
  if (hooks == NULL || hooks->version != CRMPI_LOWER_VERSION) {
    return -1;
  }
  g_hooks = hooks;
  crmpi_lower_refresh_objects();
  return 0;
}

void* dlopen(const char* file, int mode) {
  REAL(dlopen);
  void* handle = real_dlopen(file, mode & ~RTLD_GLOBAL);
  crmpi_lower_refresh_objects();
  return handle;
}

int dlclose(void* handle) {
  REAL(dlclose);
  int rc = real_dlclose(handle);
  crmpi_lower_refresh_objects();
  return rc;
}

/* ---- threads ---- */

struct thread_start {
  void* (*routine)(void*);
  void* arg;
  sem_t registered;
};

static void* lower_thread_start(void* p) {
  struct thread_start* start = p;
  void* (*routine)(void*) = start->routine;
  void* arg = start->arg;
  if (g_hooks != NULL) {
    g_hooks->exclude_thread((pid_t)syscall(SYS_gettid));
  }
  sem_post(&start->registered); /* start is the creator's: not touched after this */
  return routine(arg);
}

int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*routine)(void*), void* arg) {
  REAL(pthread_create);
  struct thread_start start = {routine, arg, {{0}}};
  sem_init(&start.registered, 0, 0);
  int rc = real_pthread_create(thread, attr, lower_thread_start, &start);
  if (rc == 0) {
    while (sem_wait(&start.registered) != 0) {
    }
  }
  sem_destroy(&start.registered);
  return rc;
}

/* ---- memory ---- */

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  REAL(mmap);
  void* p = real_mmap(addr, length, prot, flags, fd, offset);
  if (p != MAP_FAILED && g_hooks != NULL) {
    g_hooks->exclude_memory(p, length);
  }
  return p;
}

void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return mmap(addr, length, prot, flags, fd, offset);
}

int munmap(void* addr, size_t length) {
  REAL(munmap);
  int rc = real_munmap(addr, length);
  if (rc == 0 && g_hooks != NULL) {
    g_hooks->include_memory(addr, length);
  }
  return rc;
}

void* mremap(void* old, size_t old_size, size_t new_size, int flags, ...) {
  REAL(mremap);
  void* wanted = NULL;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    wanted = va_arg(ap, void*);
    va_end(ap);
  }
  void* p = real_mremap(old, old_size, new_size, flags, wanted);
  if (p != MAP_FAILED && g_hooks != NULL) {
    g_hooks->include_memory(old, old_size);
    g_hooks->exclude_memory(p, new_size);
  }
  return p;
}

/* ---- descriptors ---- */

int open(const char* path, int flags, ...) {
  REAL(open);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  int fd = real_open(path, flags, mode);
  note_fd(fd);
  return fd;
}

int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return open(path, flags, mode);
}

int openat(int dir, const char* path, int flags, ...) {
  REAL(openat);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  int fd = real_openat(dir, path, flags, mode);
  note_fd(fd);
  return fd;
}

int socket(int domain, int type, int protocol) {
  REAL(socket);
  int fd = real_socket(domain, type, protocol);
  note_fd(fd);
  return fd;
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
  REAL(socketpair);
  int rc = real_socketpair(domain, type, protocol, sv);
  if (rc == 0) {
    note_fd(sv[0]);
    note_fd(sv[1]);
  }
  return rc;
}

int accept(int s, struct sockaddr* addr, socklen_t* len) {
  REAL(accept);
  int fd = real_accept(s, addr, len);
  note_fd(fd);
  return fd;
}

int accept4(int s, struct sockaddr* addr, socklen_t* len, int flags) {
  REAL(accept4);
  int fd = real_accept4(s, addr, len, flags);
  note_fd(fd);
  return fd;
}

int pipe(int fds[2]) {
  REAL(pipe);
  int rc = real_pipe(fds);
  if (rc == 0) {
    note_fd(fds[0]);
    note_fd(fds[1]);
  }
  return rc;
}

int pipe2(int fds[2], int flags) {
  REAL(pipe2);
  int rc = real_pipe2(fds, flags);
  if (rc == 0) {
    note_fd(fds[0]);
    note_fd(fds[1]);
  }
  return rc;
}

int eventfd(unsigned int initval, int flags) {
  REAL(eventfd);
  int fd = real_eventfd(initval, flags);
  note_fd(fd);
  return fd;
}

int epoll_create(int size) {
  REAL(epoll_create);
  int fd = real_epoll_create(size);
  note_fd(fd);
  return fd;
}

int epoll_create1(int flags) {
  REAL(epoll_create1);
  int fd = real_epoll_create1(flags);
  note_fd(fd);
  return fd;
}

int dup(int old) {
  REAL(dup);
  int fd = real_dup(old);
  note_fd(fd);
  return fd;
}

int dup2(int old, int new_fd) {
  REAL(dup2);
  int fd = real_dup2(old, new_fd);
  note_fd(fd);
  return fd;
}

int dup3(int old, int new_fd, int flags) {
  REAL(dup3);
  int fd = real_dup3(old, new_fd, flags);
  note_fd(fd);
  return fd;
}

FILE* fopen(const char* path, const char* mode) {
  REAL(fopen);
  FILE* f = real_fopen(path, mode);
  if (f != NULL) {
    note_fd(fileno(f));
  }
  return f;
}

FILE* fopen64(const char* path, const char* mode) { return fopen(path, mode); }

int fclose(FILE* f) {
  REAL(fclose);
  if (f != NULL && g_hooks != NULL) {
    g_hooks->include_fd(fileno(f));
  }
  return real_fclose(f);
}

int close(int fd) {
  REAL(close);
  if (g_hooks != NULL) {
    g_hooks->include_fd(fd);
  }
  return real_close(fd);
}

/* Fortified and other entry points that create descriptors. */
int __open_2(const char* path, int flags) { return open(path, flags); }
int __open64_2(const char* path, int flags) { return open(path, flags); }
int __openat_2(int dir, const char* path, int flags) { return openat(dir, path, flags); }

int shm_open(const char* name, int flags, mode_t mode) {
  REAL(shm_open);
  int fd = real_shm_open(name, flags, mode);
  note_fd(fd);
  return fd;
}

int mkstemp(char* template_name) {
  REAL(mkstemp);
  int fd = real_mkstemp(template_name);
  note_fd(fd);
  return fd;
}

int mkostemp(char* template_name, int flags) {
  REAL(mkostemp);
  int fd = real_mkostemp(template_name, flags);
  note_fd(fd);
  return fd;
}

int creat(const char* path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

int memfd_create(const char* name, unsigned int flags) {
  REAL(memfd_create);
  int fd = real_memfd_create(name, flags);
  note_fd(fd);
  return fd;
}

int fcntl(int fd, int cmd, ...) {
  REAL(fcntl);
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  int rc = real_fcntl(fd, cmd, arg);
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    note_fd(rc);
  }
  return rc;
}
