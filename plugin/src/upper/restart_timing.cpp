#include "restart_timing.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace crmpi {

RestartTiming& restart_timing() {
  static RestartTiming instance;
  return instance;
}

uint64_t wall_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {

// The value of NAME in a NUL-separated environment block, or nullptr.
const char* find_variable(const char* environment, size_t length, const char* name) {
  size_t n = strlen(name);
  for (const char* e = environment; e < environment + length; e += strlen(e) + 1) {
    if (strncmp(e, name, n) == 0 && e[n] == '=') {
      return e + n + 1;
    }
  }
  return nullptr;
}

uint64_t stamp_of(const char* environment, size_t length, const char* name) {
  const char* value = find_variable(environment, length, name);
  return value != nullptr ? strtoull(value, nullptr, 10) : 0;
}

double seconds(uint64_t from, uint64_t to) {
  return from == 0 || to < from ? 0.0 : static_cast<double>(to - from) / 1e9;
}

}  // namespace

void RestartTiming::begin(const char* environment, size_t length) {
  uint64_t now = wall_ns();
  count_ = 0;
  const char* on = environment != nullptr ? find_variable(environment, length, "CRCORE_MPI_TIMING") : nullptr;
  on_ = on != nullptr && (strcmp(on, "1") == 0 || on[0] == '/');
  to_[0] = '\0';
  if (on_ && on[0] == '/') {
    snprintf(to_, sizeof to_, "%s", on);
  }
  if (!on_) {
    return;
  }
  job_ns_ = stamp_of(environment, length, "CRCORE_MPI_TIMING_JOB_NS");
  mpirun_ns_ = stamp_of(environment, length, "CRCORE_MPI_TIMING_MPIRUN_NS");
  rank_ns_ = stamp_of(environment, length, "CRCORE_MPI_TIMING_RANK_NS");
  exec_ns_ = stamp_of(environment, length, "CRCORE_MPI_TIMING_EXEC_NS");
  names_[count_] = "cr_restart";  // from the exec of cr_restart to the callback running in the image
  stamps_[count_++] = now;
}

void RestartTiming::mark(const char* phase) {
  if (!on_ || count_ == kMaxPhases) {
    return;
  }
  names_[count_] = phase;
  stamps_[count_++] = wall_ns();
}

void RestartTiming::report(int rank) {
  if (!on_ || count_ == 0) {
    return;
  }
  uint64_t running = stamps_[count_ - 1];
  std::string line = "crcore-mpi-timing rank=" + std::to_string(rank) + " job_ns=" + std::to_string(job_ns_) +
                     " rank_ns=" + std::to_string(rank_ns_) + " running_ns=" + std::to_string(running);
  char field[96];
  snprintf(field, sizeof field, " check=%.4f mpirun=%.4f launcher=%.4f", seconds(job_ns_, mpirun_ns_),
           seconds(mpirun_ns_, rank_ns_), seconds(rank_ns_, exec_ns_));
  line += field;
  uint64_t previous = exec_ns_;
  for (int i = 0; i < count_; ++i) {
    snprintf(field, sizeof field, " %s=%.4f", names_[i], seconds(previous, stamps_[i]));
    line += field;
    previous = stamps_[i];
  }
  snprintf(field, sizeof field, " per_rank=%.4f total=%.4f\n", seconds(rank_ns_, running), seconds(job_ns_, running));
  line += field;
  if (to_[0] == '\0') {
    fputs(line.c_str(), stderr);
    fflush(stderr);
  } else {  // one write per line, appended: the ranks share the file
    int fd = open(to_, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      fprintf(stderr, "crcore MPI layer: cannot write the restart timing to %s: %s\n", to_, strerror(errno));
    }
    if (fd >= 0) {
      close(fd);
    }
  }
  on_ = false;
}

}  // namespace crmpi
