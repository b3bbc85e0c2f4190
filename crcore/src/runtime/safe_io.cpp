// Async-signal-safe helpers (see safe_io.h). RESTRICTED CODE: syscalls only.
#include "runtime/safe_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crcore::runtime {

ssize_t read_file(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  size_t used = 0;
  for (;;) {
    if (used + 1 >= size) {
      close(fd);
      return -EFBIG;
    }
    ssize_t got = read(fd, buf + used, size - used - 1);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (got == 0) {
      break;
    }
    used += static_cast<size_t>(got);
  }
  close(fd);
  buf[used] = '\0';
  return static_cast<ssize_t>(used);
}

ssize_t read_link(const char* path, char* buf, size_t size) {
  ssize_t n = readlink(path, buf, size - 1);
  if (n < 0) {
    return -errno;
  }
  buf[n] = '\0';
  return n;
}

uint64_t parse_number(const char** p, int base) {
  uint64_t value = 0;
  const char* s = *p;
  for (;; ++s) {
    int digit;
    char c = *s;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      break;
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
  }
  *p = s;
  return value;
}

char* append_decimal(char* out, uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) {
    *out++ = digits[--n];
  }
  *out = '\0';
  return out;
}

int write_all(int fd, const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -errno;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

void keep_first_why(char* why, size_t size, const char* text) {
  if (why[0] != '\0') {
    return;
  }
  size_t n = strnlen(text, size - 1);
  memcpy(why, text, n);
  why[n] = '\0';
}

}  // namespace crcore::runtime
