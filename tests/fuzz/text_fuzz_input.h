// Shared by the text-format fuzz targets (snapshot_metadata_fuzz, scope_index_fuzz): how a finding is
// reported, and the input put in a memfd so the readers' file path (read_metadata, read_scope_index) is
// exercised as well as the parser.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace crcore::fuzz {

[[noreturn]] inline void finding(const char* target, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: FINDING: %s: %s\n", target, what, detail.c_str());
  std::abort();
}

// A memfd holding the current input; its path is /proc/self/fd/N.
class InputFile {
 public:
  explicit InputFile(const char* name) : fd_(memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::exit(1);
    }
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { close(fd_); }

  void write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) {
      std::perror("ftruncate");
      std::exit(1);
    }
    size_t done = 0;
    while (done < size) {
      ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) {
        std::perror("pwrite");
        std::exit(1);
      }
      done += static_cast<size_t>(n);
    }
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace crcore::fuzz
