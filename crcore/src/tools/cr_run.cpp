// cr_run: runs a program under crcore, so that cr_checkpoint can checkpoint it.
// The runtime (libcr.so) is preloaded; the program itself is not changed.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// libcr.so beside us: ../lib/libcr.so from bin/ (build tree and install tree alike).
std::string find_runtime() {
  if (const char* env = getenv("CRCORE_LIBCR"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& candidate : {self.parent_path().parent_path() / CRCORE_LIBDIR / "libcr.so",
                                    self.parent_path().parent_path() / "lib" / "libcr.so"}) {
    if (fs::exists(candidate, ec)) {
      return fs::canonical(candidate, ec).string();
    }
  }
  return "";
}

void usage(FILE* to) {
  fprintf(to,
          "usage: cr_run [--signal N] [--] PROGRAM [ARGS...]\n"
          "Runs PROGRAM under crcore so that it can be checkpointed with cr_checkpoint PID.\n"
          "  --signal N  real-time signal crcore uses to stop threads (default 64)\n");
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  std::string signal;
  while (first < argc && argv[first][0] == '-') {
    std::string arg = argv[first];
    if (arg == "--") {
      ++first;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    }
    if (arg == "--signal" && first + 1 < argc) {
      signal = argv[first + 1];
      first += 2;
      continue;
    }
    fprintf(stderr, "cr_run: unknown option %s\n", arg.c_str());
    usage(stderr);
    return 2;
  }
  if (first >= argc) {
    usage(stderr);
    return 2;
  }
  std::string runtime = find_runtime();
  if (runtime.empty()) {
    fprintf(stderr, "cr_run: cannot find libcr.so (looked beside %s; set CRCORE_LIBCR)\n", argv[0]);
    return 127;
  }
  std::string preload = runtime;
  if (const char* old = getenv("LD_PRELOAD"); old != nullptr && *old != '\0') {
    preload += ":" + std::string(old);
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  if (!signal.empty()) {
    setenv("CRCORE_SIGNAL", signal.c_str(), 1);
  }
  execvp(argv[first], argv + first);
  fprintf(stderr, "cr_run: cannot run %s: %s\n", argv[first], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
