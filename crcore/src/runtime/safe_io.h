// Async-signal-safe helpers for reading /proc and formatting numbers, used while every
// application thread is stopped (see the rules at the top of thread_stop.cpp).
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <cstdint>

namespace crcore::runtime {

// Reads a whole file into buf (NUL-terminated). Returns its length, or -errno. -EFBIG if it
// does not fit.
ssize_t read_file(const char* path, char* buf, size_t size);

// readlink into buf (NUL-terminated); returns the length or -errno.
ssize_t read_link(const char* path, char* buf, size_t size);

// Parses an unsigned number in `base` at *p and advances *p past it.
uint64_t parse_number(const char** p, int base);

// Appends the decimal form of value to out (used to build /proc paths without snprintf).
char* append_decimal(char* out, uint64_t value);

// write(2) of a whole buffer, retrying on EINTR and short writes. 0 or -errno.
int write_all(int fd, const void* data, size_t size);

// Copies text into why (size bytes, NUL-terminated) unless why already holds a reason: the first,
// most specific one is kept.
void keep_first_why(char* why, size_t size, const char* text);

}  // namespace crcore::runtime
