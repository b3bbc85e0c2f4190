// The index of a scope checkpoint (cr_checkpoint --tree/--pgid/--sid): which processes the scope
// had, how they were related (parent, process group, session), which were zombies and with what
// status, and the image file of each live process. One image per process (each marked
// kFileScopeMember), plus this index: a small versioned text file, described in
// docs/image-format.md ("Scope index"). The index is written last and renamed into place after
// every image: its presence commits the whole scope.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace crcore::image {

inline constexpr char kScopeIndexMagic[] = "crcore-scope";
inline constexpr uint32_t kScopeIndexVersion = 1;
inline constexpr size_t kMaxScopeProcesses = 4096;

enum class ScopeKind { Tree, Pgid, Sid };

const char* scope_kind_name(ScopeKind kind);

struct ScopeEntry {
  pid_t pid = 0;  // as the process saw itself (the innermost PID namespace)
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  bool zombie = false;
  int exit_status = 0;  // zombies: the status waitpid() reports
  std::string image;    // live processes: the image file, relative to the index's directory
};

struct ScopeIndex {
  ScopeKind kind = ScopeKind::Tree;
  pid_t id = 0;  // the pid, pgid or sid named on the command line
  uint64_t created_ns = 0;
  std::vector<ScopeEntry> entries;  // every parent in the scope comes before its children
};

// Text form; parse() throws ImageError naming the line on anything malformed.
std::string format_scope_index(const ScopeIndex& index);
ScopeIndex parse_scope_index(const std::string& text, const std::string& path);

// Whether the file starts like a scope index (cr_restart's choice between index and image).
bool looks_like_scope_index(const std::string& path);
ScopeIndex read_scope_index(const std::string& path);

// The image of an entry as a path usable from here.
std::string scope_image_path(const std::string& index_path, const ScopeEntry& entry);

}  // namespace crcore::image
