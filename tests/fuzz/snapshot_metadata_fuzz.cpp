// libFuzzer target of the MPI global snapshot's metadata.json reader (mpi_glue/snapshot/snapshot_metadata.cpp),
// which ompi-restart, the per-rank launcher and cr_info SNAPSHOT_DIR use.
//
// Each input is read twice: as DIR/metadata.json through read_metadata() (DIR a fresh directory per
// process, the file rewritten per input) and as text through parse_metadata(). SnapshotError is the
// expected outcome for a bad input. Anything else is a finding: a crash, a sanitizer report (a number
// converted out of range is undefined behaviour), another exception type, a timeout, or accepted metadata
// that breaks what the reader promises (check_accepted) or that does not survive to_json_text -> parse
// unchanged.
//
// scripts/fuzz.sh builds and runs it; docs/reliability.md ("Fuzzing") says how.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <set>
#include <string>

#include "snapshot/snapshot_metadata.h"
#include "text_fuzz_input.h"

namespace {

using namespace crcore::mpi;
using crcore::fuzz::finding;

constexpr const char* kTarget = "snapshot_metadata_fuzz";

// A private directory for DIR/metadata.json, removed at exit. Plain char arrays: the atexit handler runs
// after static std::strings are destroyed.
char g_dir[64];
char g_file[96];

const char* snapshot_dir() {
  if (g_dir[0] == '\0') {
    std::snprintf(g_dir, sizeof g_dir, "/tmp/crcore-fuzz-snapshot.XXXXXX");
    if (mkdtemp(g_dir) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    std::snprintf(g_file, sizeof g_file, "%s/%s", g_dir, kMetadataFile);
    std::atexit([] {
      unlink(g_file);
      rmdir(g_dir);
    });
  }
  return g_dir;
}

void write_metadata(const uint8_t* data, size_t size) {
  snapshot_dir();
  int fd = open(g_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    std::perror("open metadata.json");
    std::exit(1);
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      std::perror("write metadata.json");
      std::exit(1);
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
}

bool safe_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name != kMetadataFile;
}

// What parse_metadata() promises (snapshot_metadata.h): ranks 0..size-1 once each, sorted, safe image
// names, each image listed once.
void check_accepted(const SnapshotMetadata& m) {
  if (m.size < 1 || m.ranks.size() != static_cast<size_t>(m.size)) {
    finding(kTarget, "accepted", "size and rank count");
  }
  std::set<std::string> images;
  for (size_t i = 0; i < m.ranks.size(); ++i) {
    if (m.ranks[i].rank != static_cast<int>(i)) {
      finding(kTarget, "accepted", "ranks not exactly 0..size-1 in order");
    }
    if (!safe_name(m.ranks[i].image) || !images.insert(m.ranks[i].image).second) {
      finding(kTarget, "accepted", "an unsafe or repeated image name: " + m.ranks[i].image);
    }
  }
}

bool same(const SnapshotMetadata& a, const SnapshotMetadata& b) {
  if (a.size != b.size || a.mpirun_pid != b.mpirun_pid || a.mpirun_command != b.mpirun_command ||
      a.command != b.command || a.cwd != b.cwd || a.mpi_library != b.mpi_library || a.mpi_version != b.mpi_version ||
      a.mpi_library_path != b.mpi_library_path || a.taken != b.taken || a.taken_unix_ns != b.taken_unix_ns ||
      a.ranks.size() != b.ranks.size()) {
    return false;
  }
  // checkpoint_seconds: a double, printed and read back by nlohmann::json; NaN never parses.
  if (!(a.checkpoint_seconds == b.checkpoint_seconds)) {
    return false;
  }
  for (size_t i = 0; i < a.ranks.size(); ++i) {
    const RankEntry& x = a.ranks[i];
    const RankEntry& y = b.ranks[i];
    if (x.rank != y.rank || x.image != y.image || x.pid != y.pid || x.host != y.host ||
        x.image_bytes != y.image_bytes) {
      return false;
    }
  }
  return true;
}

// Whether every string of m is valid UTF-8.
bool all_utf8(const SnapshotMetadata& m) {
  auto valid = [](const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
      auto c = static_cast<unsigned char>(s[i]);
      size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > s.size()) {
        return false;
      }
      for (size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) {
          return false;
        }
      }
      i += n;
    }
    return true;
  };
  bool ok = valid(m.cwd) && valid(m.mpi_library) && valid(m.mpi_version) && valid(m.mpi_library_path) && valid(m.taken);
  for (const auto& s : m.command)
    ok = ok && valid(s);
  for (const auto& s : m.mpirun_command)
    ok = ok && valid(s);
  for (const auto& r : m.ranks)
    ok = ok && valid(r.image) && valid(r.host);
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_metadata(data, size);
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    SnapshotMetadata m = read_metadata(snapshot_dir());
    check_accepted(m);
    SnapshotMetadata again = parse_metadata(text, "fuzz input");
    if (!same(m, again)) {
      finding(kTarget, "read_metadata and parse_metadata disagree", "");
    }
    // Invalid UTF-8 is replaced on writing (to_json_text), so the round trip is exact for valid text only.
    if (all_utf8(m)) {
      std::string written = to_json_text(m);
      SnapshotMetadata round_trip;
      try {
        round_trip = parse_metadata(written, "written");
      } catch (const SnapshotError& e) {
        finding(kTarget, "to_json_text wrote metadata that parse_metadata refuses", e.what());
      }
      if (!same(m, round_trip)) {
        finding(kTarget, "to_json_text -> parse changed accepted metadata", written);
      }
    }
  } catch (const SnapshotError&) {
    // The expected outcome for bad metadata.
  } catch (const std::exception& e) {
    finding(kTarget, "an exception other than SnapshotError", e.what());
  } catch (...) {
    finding(kTarget, "an exception other than SnapshotError", "not a std::exception");
  }
  return 0;
}
