// An Open MPI aggregate parameter-set file (the files `mpirun -am NAME` names): `name = value` lines,
// `#` comments and blank lines.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace crcore::mpi {

using McaParams = std::vector<std::pair<std::string, std::string>>;

// Parses the text of a parameter file; throws std::runtime_error naming `where` and the line number for
// a line that is not `name = value`.
McaParams parse_param_file(const std::string& text, const std::string& where);
// Reads and parses the file at path; throws std::runtime_error if it cannot be read.
McaParams read_param_file(const std::string& path);

}  // namespace crcore::mpi
