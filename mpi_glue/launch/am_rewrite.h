// rewrite_am: turns `mpirun ... -am ft-enable-cr ...` into options Open MPI 4.1.4 applies.
//
// Open MPI 4.1.4 finds the file named by `-am` but never applies its parameters (PLATFORM.md). The
// front end (mpirun_front.cpp) therefore reads the ft-enable-cr file itself and puts its parameters on
// the command line, in place of the `-am` option: `mca_base_env_list` entries become `-x VAR=value`
// (LD_PRELOAD prepended to, GLIBC_TUNABLES appended to, the value already in mpirun's environment);
// every other parameter becomes `--mca NAME VALUE`. Other parameter sets in the same list stay behind
// `-am` (`-am a:ft-enable-cr` leaves `-am a`). Only mpirun's own options are looked at: an `-am` after
// the program is the program's argument.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "launch/param_file.h"

namespace crcore::mpi {

inline constexpr const char* kFtSetName = "ft-enable-cr";

struct AmRewrite {
  std::vector<std::string> args;      // the new arguments (without argv[0])
  bool ft_enabled = false;            // an ft-enable-cr set was found and expanded
  std::string param_file;             // the ft-enable-cr file used
  std::vector<std::string> preloads;  // the libraries our LD_PRELOAD entries name (to check they exist)
};

struct AmRewriteContext {
  std::string default_param_file;                                     // the installed ft-enable-cr
  std::function<McaParams(const std::string& path)> load;             // reads a parameter file
  std::function<std::optional<std::string>(const std::string&)> env;  // mpirun's environment
};

// True for a parameter-set name or path that means crcore's set ("ft-enable-cr", ".../ft-enable-cr",
// "ft-enable-cr.conf").
bool is_ft_set(const std::string& entry);

// Rewrites mpirun's arguments (argv without argv[0]). Throws std::runtime_error (from ctx.load, or for
// an `-am` without its value).
AmRewrite rewrite_am(const std::vector<std::string>& args, const AmRewriteContext& ctx);

}  // namespace crcore::mpi
