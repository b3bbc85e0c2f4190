// metadata.json of a global MPI snapshot: writing and strict reading (see snapshot_metadata.h).
#include "snapshot/snapshot_metadata.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace crcore::mpi {
namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void damaged(const std::string& where, const std::string& what) {
  throw SnapshotError(where + " is damaged: " + what);
}

// field(obj, key, where): obj[key], which must exist and have the type T.
template <typename T>
T field(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    damaged(where, std::string("the field \"") + key + "\" is missing");
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    damaged(where, std::string("the field \"") + key + "\" has the wrong type (" + it->type_name() + ")");
  }
}

// An integer field: a JSON integer (not a number with a fraction or exponent, not a boolean) that fits T.
// (nlohmann's get<int>() would convert 1e30 with undefined behaviour, and 4294967298 to 2.)
template <typename T>
T integer_field(const json& obj, const char* key, const std::string& where) {
  static_assert(std::is_integral_v<T>);
  auto it = obj.find(key);
  if (it == obj.end()) {
    damaged(where, std::string("the field \"") + key + "\" is missing");
  }
  if (!it->is_number_integer()) {
    damaged(where, std::string("the field \"") + key + "\" has the wrong type (" + it->type_name() +
                       "): an integer is expected");
  }
  bool fits = false;
  if (it->is_number_unsigned()) {
    fits = it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else {
    auto value = it->get<int64_t>();
    fits = std::is_signed_v<T> ? value >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                     value <= static_cast<int64_t>(std::numeric_limits<T>::max())
                               : value >= 0;
  }
  if (!fits) {
    damaged(where, std::string("the field \"") + key + "\" is out of range (" + it->dump() + ")");
  }
  return it->is_number_unsigned() ? static_cast<T>(it->get<uint64_t>()) : static_cast<T>(it->get<int64_t>());
}

// A number field (an integer or not, never a boolean).
double number_field(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    damaged(where, std::string("the field \"") + key + "\" is missing");
  }
  if (!it->is_number()) {
    damaged(where, std::string("the field \"") + key + "\" has the wrong type (" + it->type_name() +
                       "): a number is expected");
  }
  return it->get<double>();
}

bool safe_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name != kMetadataFile;
}

}  // namespace

std::string to_json_text(const SnapshotMetadata& m) {
  json ranks = json::array();
  for (const RankEntry& r : m.ranks) {
    ranks.push_back(
        {{"rank", r.rank}, {"image", r.image}, {"pid", r.pid}, {"host", r.host}, {"image_bytes", r.image_bytes}});
  }
  json out = {{"format", kSnapshotFormatName},
              {"version", kSnapshotFormatVersion},
              {"size", m.size},
              {"ranks", ranks},
              {"mpirun_pid", m.mpirun_pid},
              {"mpirun_command", m.mpirun_command},
              {"command", m.command},
              {"cwd", m.cwd},
              {"mpi", {{"library", m.mpi_library}, {"version", m.mpi_version}, {"path", m.mpi_library_path}}},
              {"taken", m.taken},
              {"taken_unix_ns", m.taken_unix_ns},
              {"checkpoint_seconds", m.checkpoint_seconds}};
  // Command lines and paths are not guaranteed UTF-8: replace invalid bytes rather than fail.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

SnapshotMetadata parse_metadata(const std::string& text, const std::string& where) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (1e400).
    damaged(where, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) {
    damaged(where, "not a JSON object");
  }
  if (field<std::string>(doc, "format", where) != kSnapshotFormatName) {
    damaged(where, std::string("\"format\" is not \"") + kSnapshotFormatName + "\"");
  }
  int version = integer_field<int>(doc, "version", where);
  if (version != kSnapshotFormatVersion) {
    throw SnapshotError(where + " has snapshot format version " + std::to_string(version) + "; this crcore reads " +
                        std::to_string(kSnapshotFormatVersion) + " only");
  }
  SnapshotMetadata m;
  m.size = integer_field<int>(doc, "size", where);
  if (m.size < 1) {
    damaged(where, "the job size is " + std::to_string(m.size));
  }
  m.mpirun_pid = integer_field<int>(doc, "mpirun_pid", where);
  m.mpirun_command = field<std::vector<std::string>>(doc, "mpirun_command", where);
  m.command = field<std::vector<std::string>>(doc, "command", where);
  m.cwd = field<std::string>(doc, "cwd", where);
  json mpi = field<json>(doc, "mpi", where);
  m.mpi_library = field<std::string>(mpi, "library", where);
  m.mpi_version = field<std::string>(mpi, "version", where);
  m.mpi_library_path = field<std::string>(mpi, "path", where);
  m.taken = field<std::string>(doc, "taken", where);
  m.taken_unix_ns = integer_field<uint64_t>(doc, "taken_unix_ns", where);
  m.checkpoint_seconds = number_field(doc, "checkpoint_seconds", where);

  json ranks = field<json>(doc, "ranks", where);
  if (!ranks.is_array()) {
    damaged(where, "\"ranks\" is not an array");
  }
  if (ranks.size() != static_cast<size_t>(m.size)) {
    damaged(where,
            "the job has " + std::to_string(m.size) + " ranks but " + std::to_string(ranks.size()) + " are listed");
  }
  std::set<int> seen;
  std::set<std::string> images;
  for (const json& r : ranks) {
    RankEntry e;
    e.rank = integer_field<int>(r, "rank", where);
    e.image = field<std::string>(r, "image", where);
    e.pid = integer_field<int>(r, "pid", where);
    e.host = field<std::string>(r, "host", where);
    e.image_bytes = integer_field<uint64_t>(r, "image_bytes", where);
    if (e.rank < 0 || e.rank >= m.size) {
      damaged(where, "rank " + std::to_string(e.rank) + " is outside 0.." + std::to_string(m.size - 1));
    }
    if (!seen.insert(e.rank).second) {
      damaged(where, "rank " + std::to_string(e.rank) + " is listed twice");
    }
    if (!safe_file_name(e.image)) {
      damaged(where, "rank " + std::to_string(e.rank) + " has the image name \"" + e.image +
                         "\" (a plain file name in the snapshot directory is expected)");
    }
    if (!images.insert(e.image).second) {
      damaged(where, "the image " + e.image + " is listed for two ranks");
    }
    m.ranks.push_back(e);
  }
  std::sort(m.ranks.begin(), m.ranks.end(), [](const RankEntry& a, const RankEntry& b) { return a.rank < b.rank; });
  return m;
}

SnapshotMetadata read_metadata(const std::string& dir) {
  std::string path = dir + "/" + kMetadataFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) {
      throw SnapshotError(dir + " is not a complete snapshot: it has no " + kMetadataFile +
                          " (written last by ompi-checkpoint; a checkpoint that failed or was interrupted leaves "
                          "none)");
    }
    throw SnapshotError("cannot read " + path + ": " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw SnapshotError("cannot read " + path);
  }
  return parse_metadata(text.str(), path);
}

}  // namespace crcore::mpi
