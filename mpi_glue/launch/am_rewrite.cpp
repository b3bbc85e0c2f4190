// rewrite_am (see am_rewrite.h).
#include "launch/am_rewrite.h"

#include <map>
#include <sstream>
#include <stdexcept>

namespace crcore::mpi {
namespace {

// mpirun 4.1.4's options that take values, and how many (from `mpirun --help all`).
const std::map<std::string, int>& options_with_values() {
  static const std::map<std::string, int> table = {
      {"-am", 1},
      {"--am", 1},
      {"--app", 1},
      {"--bind-to", 1},
      {"-c", 1},
      {"-np", 1},
      {"--np", 1},
      {"-cf", 1},
      {"--cartofile", 1},
      {"-cpu-list", 1},
      {"--cpu-list", 1},
      {"-cpu-set", 1},
      {"--cpu-set", 1},
      {"-cpus-per-proc", 1},
      {"--cpus-per-proc", 1},
      {"-cpus-per-rank", 1},
      {"--cpus-per-rank", 1},
      {"-debugger", 1},
      {"--debugger", 1},
      {"-default-hostfile", 1},
      {"--default-hostfile", 1},
      {"-gmca", 2},
      {"--gmca", 2},
      {"-H", 1},
      {"-host", 1},
      {"--host", 1},
      {"-hnp", 1},
      {"--hnp", 1},
      {"-hostfile", 1},
      {"--hostfile", 1},
      {"-launch-agent", 1},
      {"--launch-agent", 1},
      {"-machinefile", 1},
      {"--machinefile", 1},
      {"--map-by", 1},
      {"-max-restarts", 1},
      {"--max-restarts", 1},
      {"-max-vm-size", 1},
      {"--max-vm-size", 1},
      {"-mca", 2},
      {"--mca", 2},
      {"-N", 1},
      {"-n", 1},
      {"--n", 1},
      {"-npernode", 1},
      {"--npernode", 1},
      {"-npersocket", 1},
      {"--npersocket", 1},
      {"-ompi-server", 1},
      {"--ompi-server", 1},
      {"-output-filename", 1},
      {"--output-filename", 1},
      {"-path", 1},
      {"--path", 1},
      {"-personality", 1},
      {"--personality", 1},
      {"--ppr", 1},
      {"--prefix", 1},
      {"--preload-files", 1},
      {"--rank-by", 1},
      {"-report-events", 1},
      {"--report-events", 1},
      {"-report-pid", 1},
      {"--report-pid", 1},
      {"-report-uri", 1},
      {"--report-uri", 1},
      {"-rf", 1},
      {"--rankfile", 1},
      {"-stdin", 1},
      {"--stdin", 1},
      {"-timeout", 1},
      {"--timeout", 1},
      {"-tune", 1},
      {"--tune", 1},
      {"-wd", 1},
      {"--wd", 1},
      {"-wdir", 1},
      {"--wdir", 1},
      {"-x", 1},
      {"-xml-file", 1},
      {"--xml-file", 1},
      {"-xterm", 1},
      {"--xterm", 1},
  };
  return table;
}

std::vector<std::string> split(const std::string& s, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, separator)) {
    parts.push_back(part);
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const std::string& p : parts) {
    out += (out.empty() ? "" : std::string(1, separator)) + p;
  }
  return out;
}

bool contains_entry(const std::string& list, const std::string& entry, char separator) {
  for (const std::string& e : split(list, separator)) {
    if (e == entry) {
      return true;
    }
  }
  return false;
}

// The value a rank gets for VAR when our set asks for `value` and mpirun's environment has `existing`.
std::string merged(const std::string& var, const std::string& value, const std::optional<std::string>& existing) {
  if (!existing || existing->empty()) {
    return value;
  }
  if (var == "LD_PRELOAD") {  // ours first, so that libcrmpi's MPI_* bind before anything else
    return contains_entry(*existing, value, ':') ? *existing : value + ":" + *existing;
  }
  if (var == "GLIBC_TUNABLES") {
    return contains_entry(*existing, value, ':') ? *existing : *existing + ":" + value;
  }
  return value;
}

// The mpirun options standing for the parameters of our set.
void expand(const McaParams& params, const AmRewriteContext& ctx, AmRewrite& out) {
  for (const auto& [name, value] : params) {
    if (name != "mca_base_env_list") {
      out.args.insert(out.args.end(), {"--mca", name, value});
      continue;
    }
    for (const std::string& entry : split(value, ';')) {
      if (entry.empty()) {
        continue;
      }
      size_t eq = entry.find('=');
      if (eq == std::string::npos) {  // a bare name: forward mpirun's own value
        out.args.insert(out.args.end(), {"-x", entry});
        continue;
      }
      std::string var = entry.substr(0, eq);
      std::string val = entry.substr(eq + 1);
      if (var == "LD_PRELOAD") {
        for (const std::string& lib : split(val, ':')) {
          out.preloads.push_back(lib);
        }
      }
      out.args.insert(out.args.end(), {"-x", var + "=" + merged(var, val, ctx.env(var))});
    }
  }
}

}  // namespace

bool is_ft_set(const std::string& entry) {
  std::string base = entry.substr(entry.rfind('/') == std::string::npos ? 0 : entry.rfind('/') + 1);
  return base == kFtSetName || base == std::string(kFtSetName) + ".conf";
}

AmRewrite rewrite_am(const std::vector<std::string>& args, const AmRewriteContext& ctx) {
  AmRewrite out;
  const auto& table = options_with_values();
  bool in_program = false;  // between a program and the next ':' (MPMD separator)
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (in_program) {
      out.args.push_back(arg);
      in_program = arg != ":";
      continue;
    }
    if (arg == "-am" || arg == "--am") {
      if (i + 1 >= args.size()) {
        throw std::runtime_error(arg + " needs a parameter-set list (e.g. " + arg + " ft-enable-cr)");
      }
      std::vector<std::string> others;
      std::string ours;
      for (const std::string& entry : split(args[i + 1], ':')) {
        if (is_ft_set(entry)) {
          ours = entry;
        } else if (!entry.empty()) {
          others.push_back(entry);
        }
      }
      ++i;
      if (ours.empty()) {
        out.args.insert(out.args.end(), {arg, args[i]});
        continue;
      }
      if (!others.empty()) {
        out.args.insert(out.args.end(), {arg, join(others, ':')});
      }
      if (!out.ft_enabled) {
        out.ft_enabled = true;
        out.param_file = ours.find('/') != std::string::npos ? ours : ctx.default_param_file;
        expand(ctx.load(out.param_file), ctx, out);
      }
      continue;
    }
    out.args.push_back(arg);
    auto it = table.find(arg);
    if (it != table.end()) {
      for (int k = 0; k < it->second && i + 1 < args.size(); ++k) {
        out.args.push_back(args[++i]);
      }
    } else if (arg.empty() || arg[0] != '-') {
      in_program = arg != ":";
    }
  }
  return out;
}

}  // namespace crcore::mpi
