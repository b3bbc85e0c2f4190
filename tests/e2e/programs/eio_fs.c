/* eio_fs: a FUSE file system that passes everything through to a backing directory, except that
 * it fails writes or flushes with EIO on demand: a disk that breaks, for the reliability tests.
 *
 * Usage: eio_fs BACKING_DIR MOUNTPOINT [FUSE options, e.g. -f]
 *
 * The fault is switched on and off through the backing directory, so a test can first write a
 * good file and then break the device under the same mount:
 *   BACKING_DIR/.eio-write  (contents N, a byte count): a write that reaches past offset N of any
 *                           file fails with EIO
 *   BACKING_DIR/.eio-fsync  (any contents): fsync of any file fails with EIO
 * Files whose names start with ".eio" are hidden from the file system.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int backing = -1; /* the backing directory, opened before the mount hides nothing of it */

/* "/a/b" -> "a/b" relative to the backing directory; "/" -> ".". */
static const char* rel(const char* path) { return path[1] == '\0' ? "." : path + 1; }

static int hidden(const char* path) { return strncmp(path, "/.eio", 5) == 0; }

static long long write_limit(void) {
  char text[32] = {0};
  int fd = openat(backing, ".eio-write", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  return n > 0 ? atoll(text) : 0;
}

static int fsync_fails(void) { return faccessat(backing, ".eio-fsync", F_OK, 0) == 0; }

static int eio_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  if (fi != NULL) {
    return fstat((int)fi->fh, st) == 0 ? 0 : -errno;
  }
  if (hidden(path)) {
    return -ENOENT;
  }
  return fstatat(backing, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int eio_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info* fi,
                       enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  int fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  DIR* d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return -errno;
  }
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, ".eio", 4) != 0) {
      fill(buf, e->d_name, NULL, 0, 0);
    }
  }
  closedir(d);
  return 0;
}

static int eio_open(const char* path, struct fuse_file_info* fi) {
  if (hidden(path)) {
    return -ENOENT;
  }
  int fd = openat(backing, rel(path), fi->flags | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  fi->fh = (uint64_t)fd;
  return 0;
}

static int eio_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  if (hidden(path)) {
    return -EACCES;
  }
  int fd = openat(backing, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) {
    return -errno;
  }
  fi->fh = (uint64_t)fd;
  return 0;
}

static int eio_read(const char* path, char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  (void)path;
  ssize_t n = pread((int)fi->fh, buf, size, offset);
  return n >= 0 ? (int)n : -errno;
}

static int eio_write(const char* path, const char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  (void)path;
  long long limit = write_limit();
  if (limit >= 0 && (long long)offset + (long long)size > limit) {
    return -EIO;
  }
  ssize_t n = pwrite((int)fi->fh, buf, size, offset);
  return n >= 0 ? (int)n : -errno;
}

static int eio_fsync(const char* path, int datasync, struct fuse_file_info* fi) {
  (void)path;
  if (fsync_fails()) {
    return -EIO;
  }
  return (datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) == 0 ? 0 : -errno;
}

static int eio_release(const char* path, struct fuse_file_info* fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static int eio_unlink(const char* path) { return unlinkat(backing, rel(path), 0) == 0 ? 0 : -errno; }

static int eio_rename(const char* from, const char* to, unsigned int flags) {
  if (hidden(from) || hidden(to)) {
    return -EACCES;
  }
  return renameat2(backing, rel(from), backing, rel(to), flags) == 0 ? 0 : -errno;
}

static int eio_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  if (fi != NULL) {
    return ftruncate((int)fi->fh, size) == 0 ? 0 : -errno;
  }
  int fd = openat(backing, rel(path), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  int rc = ftruncate(fd, size) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

static int eio_chmod(const char* path, mode_t mode, struct fuse_file_info* fi) {
  (void)fi;
  return fchmodat(backing, rel(path), mode, 0) == 0 ? 0 : -errno;
}

static int eio_utimens(const char* path, const struct timespec tv[2], struct fuse_file_info* fi) {
  (void)fi;
  return utimensat(backing, rel(path), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int eio_statfs(const char* path, struct statvfs* st) {
  (void)path;
  return fstatvfs(backing, st) == 0 ? 0 : -errno;
}

static int eio_mkdir(const char* path, mode_t mode) { return mkdirat(backing, rel(path), mode) == 0 ? 0 : -errno; }

static int eio_rmdir(const char* path) { return unlinkat(backing, rel(path), AT_REMOVEDIR) == 0 ? 0 : -errno; }

static void* eio_init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
  (void)conn;
  cfg->use_ino = 1;
  cfg->attr_timeout = 0; /* the backing directory may change behind our back (the .eio switches) */
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  return NULL;
}

static const struct fuse_operations eio_operations = {
    .getattr = eio_getattr,
    .readdir = eio_readdir,
    .open = eio_open,
    .create = eio_create,
    .read = eio_read,
    .write = eio_write,
    .fsync = eio_fsync,
    .release = eio_release,
    .unlink = eio_unlink,
    .rename = eio_rename,
    .truncate = eio_truncate,
    .chmod = eio_chmod,
    .utimens = eio_utimens,
    .statfs = eio_statfs,
    .mkdir = eio_mkdir,
    .rmdir = eio_rmdir,
    .init = eio_init,
};

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: eio_fs BACKING_DIR MOUNTPOINT [FUSE options]\n");
    return 2;
  }
  char real[PATH_MAX];
  if (realpath(argv[1], real) == NULL || (backing = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    fprintf(stderr, "eio_fs: cannot open the backing directory %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  /* fuse_main sees: eio_fs MOUNTPOINT [options] */
  argv[1] = argv[0];
  return fuse_main(argc - 1, argv + 1, &eio_operations, NULL);
}
