// Parsing of Open MPI parameter-set files (see param_file.h).
#include "launch/param_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crcore::mpi {
namespace {

std::string trim(const std::string& s) {
  size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  size_t last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

}  // namespace

McaParams parse_param_file(const std::string& text, const std::string& where) {
  McaParams params;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string content = trim(line);
    if (content.empty() || content[0] == '#') {
      continue;
    }
    size_t eq = content.find('=');
    std::string name = eq == std::string::npos ? "" : trim(content.substr(0, eq));
    if (name.empty() || name.find_first_of(" \t") != std::string::npos) {
      throw std::runtime_error(where + ":" + std::to_string(number) + ": expected 'name = value', found '" + content +
                               "'");
    }
    params.emplace_back(name, trim(content.substr(eq + 1)));
  }
  return params;
}

McaParams read_param_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read the parameter file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_param_file(text.str(), path);
}

}  // namespace crcore::mpi
