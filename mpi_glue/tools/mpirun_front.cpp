// crcore-mpirun: the `mpirun` front end (installed as crcore-mpirun and, for PATH, as mpirun/mpiexec in
// <libexecdir>/crcore/mpi-bin; share/crcore/env.sh puts that directory first on PATH).
//
// `mpirun -am ft-enable-cr ...` (also --am, a path to the file, or the set inside a list such as
// `-am a:ft-enable-cr`) has the ft-enable-cr parameters put on the command line (launch/am_rewrite.h),
// because Open MPI 4.1.4 ignores -am files; every other invocation is passed on unchanged. Then it execs
// the real mpirun: $CRCORE_REAL_MPIRUN, else the one crcore was built against.
// CRCORE_MPIRUN_VERBOSE=1 prints the command it runs on stderr.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "launch/am_rewrite.h"
#include "proc/proc_info.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "mpirun (crcore front end): %s\n", message.c_str());
  return 1;
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::canonical(path, ec);
  return ec ? std::string() : p.string();
}

// The real mpirun, or "" (and a message) when there is none that is not this program.
std::string real_mpirun(std::string& why) {
  const char* chosen = std::getenv("CRCORE_REAL_MPIRUN");
  std::string path = chosen != nullptr && *chosen != '\0' ? chosen : CRCORE_REAL_MPIRUN_DEFAULT;
  std::string resolved = canonical(path);
  if (resolved.empty()) {
    why = "the real mpirun " + path + " does not exist (set CRCORE_REAL_MPIRUN to Open MPI's mpirun)";
    return "";
  }
  if (resolved == canonical("/proc/self/exe")) {
    why = "CRCORE_REAL_MPIRUN (" + path + ") is this front end itself; point it at Open MPI's mpirun";
    return "";
  }
  return path;
}

std::string default_param_file() {
  if (const char* file = std::getenv("CRCORE_FT_PARAM_FILE"); file != nullptr && *file != '\0') {
    return file;
  }
  std::string beside = crcore::mpi::beside_self(CRCORE_BIN_TO_PARAM_FILE);
  return beside.empty() ? std::string(CRCORE_PARAM_FILE_INSTALLED) : beside;
}

}  // namespace

int main(int argc, char** argv) {
  std::string why;
  std::string mpirun = real_mpirun(why);
  if (mpirun.empty()) {
    return fail(why);
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  crcore::mpi::AmRewriteContext ctx;
  ctx.default_param_file = default_param_file();
  ctx.load = crcore::mpi::read_param_file;
  ctx.env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  };
  crcore::mpi::AmRewrite rewrite;
  try {
    rewrite = crcore::mpi::rewrite_am(args, ctx);
  } catch (const std::exception& e) {
    return fail(std::string("-am ft-enable-cr: ") + e.what());
  }
  for (const std::string& lib : rewrite.preloads) {
    if (access(lib.c_str(), R_OK) != 0) {
      return fail("-am ft-enable-cr: " + rewrite.param_file + " preloads " + lib + ", which is missing (" +
                  std::strerror(errno) + "): crcore's MPI rank library is not installed there");
    }
  }
  std::vector<char*> exec_args{const_cast<char*>(mpirun.c_str())};
  for (std::string& a : rewrite.args) {
    exec_args.push_back(a.data());
  }
  exec_args.push_back(nullptr);
  if (const char* verbose = std::getenv("CRCORE_MPIRUN_VERBOSE"); verbose != nullptr && *verbose == '1') {
    std::string line;
    for (char** a = exec_args.data(); *a != nullptr; ++a) {
      line += (line.empty() ? "" : " ") + std::string(*a);
    }
    std::fprintf(stderr, "mpirun (crcore front end): exec %s\n", line.c_str());
  }
  execv(mpirun.c_str(), exec_args.data());
  return fail("cannot run " + mpirun + ": " + std::strerror(errno));
}
