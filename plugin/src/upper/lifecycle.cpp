#include "lifecycle.h"

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "comms.h"
#include "crcore_ext.h"
#include "direct_receive.h"
#include "gate.h"
#include "libcr.h"
#include "lower_api.h"
#include "lower_half.h"
#include "objects.h"
#include "phases.h"
#include "pml_choice.h"
#include "quiesce.h"
#include "requests.h"
#include "restart_timing.h"
#include "traffic.h"
#include "types.h"
#include "wait_policy.h"

namespace crmpi {

Life& life() {
  static Life instance;
  return instance;
}

namespace {

// The variables that tie a process to its job (launcher, PMIx server, its rank): replaced as a set.
bool job_variable(const char* entry) {
  for (const char* prefix : {"OMPI_", "PMIX_", "ORTE_", "OPAL_", "PMI_", "SLURM_"}) {
    if (strncmp(entry, prefix, strlen(prefix)) == 0) {
      return true;
    }
  }
  return false;
}

void make_predefined_comms() {
  Registry& r = registry();
  if (r.comms.empty()) {
    r.comms.push_back(std::make_unique<VComm>());
    r.comms.push_back(std::make_unique<VComm>());
    r.world = r.comms[0].get();
    r.self = r.comms[1].get();
  }
  VComm& w = world();
  w.id = 1;
  w.real = static_cast<MPI_Comm>(lower_predefined(MPI_COMM_WORLD));
  int size = 0;
  check(lower.Comm_size(w.real, &size), "MPI_Comm_size");
  check(lower.Comm_rank(w.real, &w.rank), "MPI_Comm_rank");
  if (!w.world.empty() && static_cast<int>(w.world.size()) != size) {
    throw std::runtime_error("the restarted job has " + std::to_string(size) + " ranks, the checkpointed one had " +
                             std::to_string(w.world.size()));
  }
  w.world.resize(static_cast<size_t>(size));
  std::iota(w.world.begin(), w.world.end(), 0);
  w.shadow = nullptr;  // a new lower half: the old one's duplicate is gone with it
  if (life().lower_thread_level == MPI_THREAD_MULTIPLE) {
    world_shadow();  // fences on it may run beside the application's calls: made before any of them
  }
  VComm& s = self();
  s.id = 2;
  s.real = static_cast<MPI_Comm>(lower_predefined(MPI_COMM_SELF));
  s.rank = 0;
  s.world = {w.rank};
  traffic().resize(size);
}

}  // namespace

MPI_Comm world_shadow() {
  VComm& w = world();
  if (w.shadow == nullptr) {
    check(lower.Comm_dup(w.real, &w.shadow), "MPI_Comm_dup");
  }
  return w.shadow;
}

int lower_thread_level() {
  if (const char* text = getenv("CRCORE_MPI_LOWER_THREAD_LEVEL"); text != nullptr && *text != '\0') {
    if (strcmp(text, "single") == 0) {
      return MPI_THREAD_SINGLE;
    }
    if (strcmp(text, "serialized") == 0) {
      return MPI_THREAD_SERIALIZED;
    }
    if (strcmp(text, "multiple") == 0) {
      return MPI_THREAD_MULTIPLE;
    }
    throw std::runtime_error(std::string("CRCORE_MPI_LOWER_THREAD_LEVEL='") + text +
                             "' is not one of single, serialized, multiple");
  }
#if CRMPI_HAVE_PMIX
  const char* coordination = getenv("CRCORE_MPI_COORDINATION");
  bool via_mpi = coordination != nullptr && strcmp(coordination, "mpi") == 0;
#else
  bool via_mpi = true;  // built without PMIx: the fences are always MPI collectives
#endif
  return via_mpi ? MPI_THREAD_MULTIPLE : MPI_THREAD_SINGLE;
}

void start_lower_half(int* argc, char*** argv) {
  gate().arm();  // per process: again in a restored one
  int wanted = lower_thread_level();
  load_lower_half();
  restart_timing().mark("dlmopen");
  int provided = 0;
  check(lower.Init_thread(argc, argv, wanted, &provided), "MPI_Init_thread");
  if (provided < wanted) {
    throw std::runtime_error("the MPI library provides thread level " + std::to_string(provided) +
                             ", the layer needs " + std::to_string(wanted));
  }
  life().lower_thread_level = provided;
  WaitPolicy waiting = decide_wait_policy();
  set_wait_policy(waiting);
  enable_direct_receives(provided);
  if (debug_output()) {
    static const char* const names[] = {"single", "funneled", "serialized", "multiple"};
    fprintf(stderr, "crmpi: lower half at MPI_THREAD_%s; waiting calls %s (%s); small receives %s\n",
            provided >= 0 && provided <= 3 ? names[provided] : "?", waiting.yield ? "yield" : "spin",
            waiting.reason.c_str(), direct_receive_method());
  }
  restart_timing().mark("mpi_init");
  remember_selected_pml();
  refresh_lower_objects();
  reset_lower_cache();
  make_predefined_comms();
  restart_timing().mark("world");
}

void adopt_new_job_environment() {
  size_t length = 0;
  const char* env = crcore_restart_environment(&length);
  if (env == nullptr) {
    fprintf(stderr, "crcore MPI layer: restarted without the new job's environment; MPI will not start\n");
    return;
  }
  std::vector<std::string> old;
  for (char** e = environ; *e != nullptr; ++e) {
    if (job_variable(*e)) {
      old.emplace_back(*e, strcspn(*e, "="));
    }
  }
  for (const std::string& name : old) {
    unsetenv(name.c_str());
  }
  for (const char* e = env; e < env + length; e += strlen(e) + 1) {
    const char* equals = strchr(e, '=');
    if (equals != nullptr && job_variable(e)) {
      setenv(std::string(e, equals).c_str(), equals + 1, 1);
    }
  }
}

namespace {

// Every live communicator again, as splits of the new MPI_COMM_WORLD: the ranks share their lists
// (id, members as world ranks); each id, in increasing order, is one MPI_Comm_split of the world in
// which every rank takes part (color: which of that id's member lists it belongs to, or
// MPI_UNDEFINED). Communicators made by splitting one parent share an id, with one member list per
// color. (MPI_Comm_create_group would be collective over the members only, but Open MPI 4.1's
// result cannot be split again.)
void rebuild_communicators() {
  Registry& r = registry();
  std::vector<int64_t> mine;
  for (size_t i = 2; i < r.comms.size(); ++i) {
    const VComm& c = *r.comms[i];
    if (!c.freed) {
      mine.push_back(static_cast<int64_t>(c.id));
      mine.push_back(static_cast<int64_t>(c.world.size()));
      mine.insert(mine.end(), c.world.begin(), c.world.end());
    }
  }
  int size = static_cast<int>(world().world.size());
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<size_t>(size)), offsets(static_cast<size_t>(size));
  auto lower_int = static_cast<MPI_Datatype>(lower_predefined(MPI_INT));
  auto lower_int64 = static_cast<MPI_Datatype>(lower_predefined(MPI_INT64_T));
  check(lower.Allgather(&length, 1, lower_int, lengths.data(), 1, lower_int, world().real), "restart: MPI_Allgather");
  int total = 0;
  for (int i = 0; i < size; ++i) {
    offsets[static_cast<size_t>(i)] = total;
    total += lengths[static_cast<size_t>(i)];
  }
  std::vector<int64_t> all(static_cast<size_t>(total));
  check(lower.Allgatherv(mine.data(), length, lower_int64, all.data(), lengths.data(), offsets.data(), lower_int64,
                         world().real),
        "restart: MPI_Allgatherv");
  std::map<uint64_t, std::vector<std::vector<int>>> variants;  // id -> distinct member lists
  for (size_t at = 0; at + 1 < all.size();) {
    auto id = static_cast<uint64_t>(all[at]);
    auto n = static_cast<size_t>(all[at + 1]);
    std::vector<int> members(all.begin() + static_cast<long>(at) + 2, all.begin() + static_cast<long>(at + 2 + n));
    auto& list = variants[id];
    if (std::find(list.begin(), list.end(), members) == list.end()) {
      list.push_back(members);
    }
    at += 2 + n;
  }
  int me = world().rank;
  for (const auto& [id, lists] : variants) {
    VComm* mine_of_id = nullptr;
    for (size_t i = 2; i < r.comms.size(); ++i) {
      if (!r.comms[i]->freed && r.comms[i]->id == id) {
        mine_of_id = r.comms[i].get();
      }
    }
    int color = MPI_UNDEFINED, key = 0;
    if (mine_of_id != nullptr) {
      color = static_cast<int>(std::find(lists.begin(), lists.end(), mine_of_id->world) - lists.begin());
      key = static_cast<int>(std::find(mine_of_id->world.begin(), mine_of_id->world.end(), me) -
                             mine_of_id->world.begin());
    }
    MPI_Comm made = nullptr;
    check(lower.Comm_split(world().real, color, key, &made), "restart: MPI_Comm_split");
    if (mine_of_id != nullptr) {
      mine_of_id->real = made;
    }
  }
}

}  // namespace

void rebuild_after_restart() {
  forget_old_lower_half();
  restart_timing().mark("unlink");
  choose_remembered_pml();
  start_lower_half(nullptr, nullptr);
  Registry& r = registry();
  rebuild_communicators();
  restart_timing().mark("communicators");
  for (auto& c : r.comms) {
    if (!c->freed && c->errhandler != MPI_ERRORS_ARE_FATAL) {
      check(lower.Comm_set_errhandler(c->real, static_cast<MPI_Errhandler>(lower_predefined(c->errhandler))),
            "MPI_Comm_set_errhandler");
    }
  }
  for (auto& g : r.groups) {
    if (g->real != nullptr) {
      g->real = make_lower_group(g->world);
    }
  }
  restart_timing().mark("groups");
  for (auto& t : r.types) {
    build_type(t.get());
  }
  for (auto& t : r.types) {
    if (t->freed) {
      lower.Type_free(&t->real);
    }
  }
  restart_timing().mark("datatypes");
  for (auto& op : r.ops) {
    if (!op->freed) {
      build_op(op.get());
    }
  }
  restart_timing().mark("ops");
  for (auto& request : r.pending) {
    if (request->complete) {
      continue;
    }
    if (request->what == RequestKind::Send) {
      fatal("restart", "a send was still pending at the checkpoint (the drain should have completed it)");
    }
    start_receive_held(request.get(), "restart");
  }
  restart_timing().mark("receives");
}

namespace {

// This rank's part of the snapshot's metadata (published at the 'written' fence): its image as the
// requester named it, its host and pid.
std::vector<char> snapshot_record(int rc) {
  std::string text;
  const cr_checkpoint_info* info = cr_get_checkpoint_info();
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  text += std::string("image=") + (info != nullptr && info->dest != nullptr ? info->dest : "") + '\n';
  text += std::string("host=") + host + '\n';
  text += "pid=" + std::to_string(getpid()) + '\n';
  text += "status=" + std::to_string(rc) + '\n';
  return {text.begin(), text.end()};
}

// Rank 0 gathers every rank's snapshot record (debug output; ompi-checkpoint writes metadata.json from
// its own requests, which carry the sizes).
void report_snapshot(const Phases& phases, const FenceOutcome& written) {
  if (world().rank != 0 || !debug_output()) {
    return;
  }
  for (size_t r = 0; r < written.payloads.size(); ++r) {
    std::string text(written.payloads[r].begin(), written.payloads[r].end());
    std::replace(text.begin(), text.end(), '\n', ' ');
    fprintf(stderr, "crmpi: snapshot rank %zu (%s): %s\n", r, phases.via_pmix() ? "PMIx" : "MPI", text.c_str());
  }
}

// The request's deadline; a request without a time limit gets CRCORE_MPI_CHECKPOINT_TIMEOUT seconds
// (default 300) for the ranks to meet, so that a rank that never takes part cannot hold the others for
// good.
uint64_t checkpoint_deadline() {
  auto deadline = static_cast<uint64_t>(crcore_checkpoint_deadline_ns());
  if (deadline != 0) {
    return deadline;
  }
  uint64_t seconds = 300;
  if (const char* text = getenv("CRCORE_MPI_CHECKPOINT_TIMEOUT"); text != nullptr && *text != '\0') {
    char* end = nullptr;
    unsigned long long value = strtoull(text, &end, 10);
    if (end != nullptr && *end == '\0' && value > 0) {
      seconds = value;
    } else {
      fprintf(stderr, "crcore MPI layer: CRCORE_MPI_CHECKPOINT_TIMEOUT='%s' is not a number of seconds: 300 s\n", text);
    }
  }
  return monotonic_now_ns() + seconds * 1000000000ull;
}

// A failed attempt: the application goes on, the request is answered with a temporary failure (so
// ompi-checkpoint fails and marks nothing complete), and the reason is printed.
int give_up(const std::string& why) {
  gate().open();
  fprintf(stderr, "crcore MPI layer: rank %d gives up its part of this checkpoint: %s\n", world().rank, why.c_str());
  fflush(stderr);
  cr_checkpoint(CR_CHECKPOINT_TEMP_FAILURE);
  return 0;
}

int checkpoint_callback(void*) {
  Life& l = life();
  {
    std::lock_guard starting(l.starting);  // a rank inside MPI_Init finishes it first
  }
  if (!l.initialized || l.finalized) {
    int rc = cr_checkpoint(CR_CHECKPOINT_READY);
    if (rc > 0) {
      adopt_new_job_environment();
    }
    return 0;
  }
  uint64_t deadline = checkpoint_deadline();
  std::optional<Phases> phases;
  std::string why;
  bool ready = false;
  try {
    phases.emplace(deadline);
    ready = quiesce(*phases, why);
  } catch (const std::exception& e) {
    gate().open();
    fatal("checkpoint", e.what());
  }
  if (!ready) {
    return give_up(why);
  }
  int rc = cr_checkpoint(CR_CHECKPOINT_READY);
  if (rc > 0) {
    size_t length = 0;
    const char* environment = crcore_restart_environment(&length);
    restart_timing().begin(environment, length);
    adopt_new_job_environment();
    restart_timing().mark("environment");
    try {
      rebuild_after_restart();
      Phases resumed(0);  // the new job's PMIx
      FenceOutcome fence = resumed.fence("resumed", true, "", {});
      if (!fence.ok) {
        fatal("restart", "the ranks of the restarted job did not meet: " + fence.why);
      }
    } catch (const std::exception& e) {
      fatal("restart", e.what());
    }
  } else {
    // The images are written (or this one failed: rc < 0, which its requester reports): the ranks
    // meet once more before the application goes on. The image's write may have used the request's
    // time; a few seconds more are allowed for the slowest rank.
    uint64_t now = monotonic_now_ns();
    uint64_t written_deadline = deadline == 0 ? 0 : std::max<uint64_t>(deadline, now + 5000000000ull);
    phases->set_deadline(written_deadline);
    FenceOutcome written =
        phases->fence("written", rc == 0, rc == 0 ? "" : "its image was not written", snapshot_record(rc));
    if (written.ok) {
      report_snapshot(*phases, written);
    } else if (debug_output()) {
      fprintf(stderr, "crmpi: rank %d: after the image: %s\n", world().rank, written.why.c_str());
    }
  }
  gate().open();
  if (rc > 0) {
    restart_timing().mark("gate_open");
    restart_timing().report(world().rank);
  }
  return 0;
}

}  // namespace

void register_checkpoint_callback() {
  if (cr_init() < 0) {
    fprintf(stderr, "crcore MPI layer: cr_init failed: this rank cannot be checkpointed\n");
    return;
  }
  if (cr_register_callback(checkpoint_callback, nullptr, CR_THREAD_CONTEXT) < 0) {
    fprintf(stderr, "crcore MPI layer: cannot register the checkpoint callback\n");
  }
}

namespace {
__attribute__((constructor)) void at_load() { register_checkpoint_callback(); }
}  // namespace

}  // namespace crmpi
