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
          "usage: cr_run [--signal N] [--hugepages] [--] PROGRAM [ARGS...]\n"
          "Runs PROGRAM under crcore so that it can be checkpointed with cr_checkpoint PID.\n"
          "  --signal N    real-time signal crcore uses to stop threads (default 64)\n"
          "  --hugepages   back the memory PROGRAM allocates with malloc by transparent huge pages\n"
          "                (glibc.malloc.hugetlb=1): a checkpoint of a large heap then pauses it for a\n"
          "                few ms instead of ~30 ms per GiB (the copy-on-write fork copies page tables); also "
          "CRCORE_HUGEPAGES=1\n");
}

// --hugepages: glibc's malloc advises its memory MADV_HUGEPAGE (GLIBC_TUNABLES, glibc 2.35 and
// later), which the kernel honours unless transparent huge pages are off ("never").
void use_huge_pages() {
  std::string tunables = getenv("GLIBC_TUNABLES") != nullptr ? getenv("GLIBC_TUNABLES") : "";
  if (tunables.find("glibc.malloc.hugetlb=") == std::string::npos) {  // the user's own choice stands
    tunables += std::string(tunables.empty() ? "" : ":") + "glibc.malloc.hugetlb=1";
    setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
  }
  FILE* mode = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  char line[128] = "";
  if (mode == nullptr || fgets(line, sizeof line, mode) == nullptr) {
    fprintf(stderr, "cr_run: warning: this kernel has no transparent huge pages: --hugepages does nothing\n");
  } else if (strstr(line, "[never]") != nullptr) {
    fprintf(stderr,
            "cr_run: warning: transparent huge pages are off on this machine "
            "(/sys/kernel/mm/transparent_hugepage/enabled): --hugepages does nothing\n");
  }
  if (mode != nullptr) {
    fclose(mode);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  std::string signal;
  bool huge_pages = getenv("CRCORE_HUGEPAGES") != nullptr && strcmp(getenv("CRCORE_HUGEPAGES"), "1") == 0;
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
    if (arg == "--hugepages") {
      huge_pages = true;
      ++first;
      continue;
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
  if (huge_pages) {
    use_huge_pages();
  }
  execvp(argv[first], argv + first);
  fprintf(stderr, "cr_run: cannot run %s: %s\n", argv[first], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
