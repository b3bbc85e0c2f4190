// libFuzzer target of the scope index reader (crcore/src/image/scope_index.cpp): the index of a
// cr_checkpoint --tree/--pgid/--sid checkpoint that cr_restart and cr_info read.
//
// Each input goes through looks_like_scope_index() and read_scope_index() (the file path, through a memfd)
// and parse_scope_index() (the text). ImageError is the expected outcome for a bad input. Anything else is
// a finding: a crash, a sanitizer report, another exception type, a timeout, or an accepted index that
// breaks what the parser promises (check_accepted) or that does not survive format -> parse unchanged.
//
// scripts/fuzz.sh builds and runs it; docs/reliability.md ("Fuzzing") says how.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <set>
#include <string>

#include "image/image_error.h"
#include "image/scope_index.h"
#include "text_fuzz_input.h"

namespace {

using namespace crcore::image;
using crcore::fuzz::finding;

constexpr const char* kTarget = "scope_index_fuzz";

// What parse_scope_index() promises about an index it accepted (docs/image-format.md, "Scope index").
void check_accepted(const ScopeIndex& index) {
  if (index.entries.empty() || index.entries.size() > kMaxScopeProcesses || index.id < 1) {
    finding(kTarget, "accepted", "entry count or scope id");
  }
  std::set<pid_t> pids;
  std::set<pid_t> live;
  for (const ScopeEntry& e : index.entries) {
    if (e.pid < 1 || e.ppid < 0 || e.pgid < 0 || e.sid < 0 || !pids.insert(e.pid).second) {
      finding(kTarget, "accepted", "a pid out of range or listed twice");
    }
    if (e.zombie) {
      if (live.count(e.ppid) == 0 || !e.image.empty()) {
        finding(kTarget, "accepted", "a zombie without a live parent before it, or with an image");
      }
    } else {
      if (e.image.empty() || e.image.find('/') != std::string::npos || e.image == "." || e.image == "..") {
        finding(kTarget, "accepted", "an image name that is not a plain file name");
      }
      live.insert(e.pid);
    }
  }
  if (live.empty()) {
    finding(kTarget, "accepted", "no live process");
  }
}

bool same(const ScopeIndex& a, const ScopeIndex& b) {
  if (a.kind != b.kind || a.id != b.id || a.created_ns != b.created_ns || a.entries.size() != b.entries.size()) {
    return false;
  }
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const ScopeEntry& x = a.entries[i];
    const ScopeEntry& y = b.entries[i];
    if (x.pid != y.pid || x.ppid != y.ppid || x.pgid != y.pgid || x.sid != y.sid || x.zombie != y.zombie ||
        x.exit_status != y.exit_status || x.image != y.image) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static crcore::fuzz::InputFile file("crcore-fuzz-scope-index");
  file.write(data, size);
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)looks_like_scope_index(file.path());
    ScopeIndex index = read_scope_index(file.path());
    check_accepted(index);
    ScopeIndex again = parse_scope_index(text, "fuzz input");
    if (!same(index, again)) {
      finding(kTarget, "read_scope_index and parse_scope_index disagree", "");
    }
    ScopeIndex round_trip;
    try {
      round_trip = parse_scope_index(format_scope_index(index), "formatted");
    } catch (const ImageError& e) {
      finding(kTarget, "format_scope_index wrote an index that parse_scope_index refuses", e.what());
    }
    if (!same(index, round_trip)) {
      finding(kTarget, "format -> parse changed an accepted index", format_scope_index(index));
    }
  } catch (const ImageError&) {
    // The expected outcome for a bad index.
  } catch (const std::exception& e) {
    finding(kTarget, "an exception other than ImageError", e.what());
  } catch (...) {
    finding(kTarget, "an exception other than ImageError", "not a std::exception");
  }
  return 0;
}
