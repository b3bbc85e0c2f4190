// SnapshotMetadata: the metadata.json of a global MPI snapshot (docs/mpi.md, "The snapshot directory").
//
// A global snapshot is a directory holding one crcore image per rank and metadata.json. metadata.json is
// written last: its presence marks the snapshot complete. This file is the one place that knows its
// layout; ompi-checkpoint writes it, ompi-restart, the per-rank launcher and cr_info read it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace crcore::mpi {

// Bump on every incompatible change of metadata.json; readers refuse other versions.
inline constexpr int kSnapshotFormatVersion = 1;
inline constexpr const char* kSnapshotFormatName = "crcore-mpi-snapshot";
inline constexpr const char* kMetadataFile = "metadata.json";

// Every problem found in a snapshot: the message names the directory and what is wrong.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RankEntry {
  int rank = 0;
  std::string image;  // file name inside the snapshot directory (no '/')
  int pid = 0;        // the rank's pid when it was checkpointed
  std::string host;
  uint64_t image_bytes = 0;
};

struct SnapshotMetadata {
  int size = 0;                             // MPI_COMM_WORLD size
  int mpirun_pid = 0;                       // the job's mpirun when it was checkpointed
  std::vector<std::string> mpirun_command;  // mpirun's command line (after the front end's rewrite)
  std::vector<std::string> command;         // rank 0's command line (the application)
  std::string cwd;                          // rank 0's working directory
  std::string mpi_library;                  // e.g. "Open MPI"
  std::string mpi_version;                  // e.g. "4.1.4"
  std::string mpi_library_path;             // the libmpi the ranks had loaded ("" if not seen)
  std::string taken;                        // ISO 8601, UTC
  uint64_t taken_unix_ns = 0;
  double checkpoint_seconds = 0;  // from the request to the last rank's committed image
  std::vector<RankEntry> ranks;   // sorted by rank, exactly 0..size-1
};

// metadata.json text for m.
std::string to_json_text(const SnapshotMetadata& m);

// Parses and checks metadata.json text (format, version, types, ranks 0..size-1 once each, safe image
// names). `where` names the file in messages. Throws SnapshotError.
SnapshotMetadata parse_metadata(const std::string& text, const std::string& where);

// Reads DIR/metadata.json: SnapshotError saying "incomplete" when it is missing, "damaged" when it does
// not parse or check.
SnapshotMetadata read_metadata(const std::string& dir);

}  // namespace crcore::mpi
