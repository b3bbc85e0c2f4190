// make_text_seeds SNAPSHOT_DIR SCOPE_DIR: writes seed inputs for snapshot_metadata_fuzz and scope_index_fuzz
// with the real writers (to_json_text, format_scope_index): the shapes that the real files committed in
// tests/fuzz/seeds/ (taken from a real ompi-checkpoint and cr_checkpoint --tree/--pgid) do not show, such as
// zombies, a session scope, one rank and many ranks. scripts/fuzz.sh uses both.
#include <cstdio>
#include <fstream>
#include <string>

#include "image/scope_index.h"
#include "snapshot/snapshot_metadata.h"

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) {
    std::fprintf(stderr, "make_text_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

crcore::mpi::SnapshotMetadata snapshot(int size) {
  crcore::mpi::SnapshotMetadata m;
  m.size = size;
  m.mpirun_pid = 4242;
  m.mpirun_command = {"/usr/bin/mpiexec", "-x", "CRCORE_MPI=1", "-np", std::to_string(size), "./app", "in put"};
  m.command = {"./app", "in put"};
  m.cwd = "/home/user/run \"1\"";
  m.mpi_library = "Open MPI";
  m.mpi_version = "4.1.4";
  m.mpi_library_path = size == 1 ? "" : "/usr/lib/x86_64-linux-gnu/libmpi.so.40";
  m.taken = "2026-01-02T03:04:05Z";
  m.taken_unix_ns = 1767323045000000000ull;
  m.checkpoint_seconds = 1.5;
  for (int r = 0; r < size; ++r) {
    m.ranks.push_back({r, "rank." + std::to_string(r) + ".ctx", 1000 + r, r % 2 == 0 ? "node1" : "node2",
                       4096ull * static_cast<uint64_t>(r + 1)});
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_text_seeds SNAPSHOT_SEED_DIR SCOPE_SEED_DIR\n");
    return 2;
  }
  const std::string snap = argv[1];
  const std::string scope = argv[2];
  for (int size : {1, 3, 16}) {
    write_file(snap + "/written_" + std::to_string(size) + "ranks.json", crcore::mpi::to_json_text(snapshot(size)));
  }

  using crcore::image::ScopeIndex;
  using crcore::image::ScopeKind;
  ScopeIndex tree{ScopeKind::Tree, 100, 1767323045000000000ull, {}};
  tree.entries.push_back({100, 1, 100, 100, false, 0, "ctx.100"});
  tree.entries.push_back({101, 100, 100, 100, false, 0, "ctx.101"});
  tree.entries.push_back({102, 100, 100, 100, true, 3 << 8, ""});
  tree.entries.push_back({103, 101, 103, 100, true, 9, ""});
  write_file(scope + "/written_tree_zombies.idx", crcore::image::format_scope_index(tree));
  ScopeIndex sid{ScopeKind::Sid, 200, 1, {}};
  sid.entries.push_back({200, 0, 200, 200, false, 0, "s.200"});
  sid.entries.push_back({201, 200, 201, 200, false, 0, "s.201"});
  write_file(scope + "/written_sid.idx", crcore::image::format_scope_index(sid));
  return 0;
}
