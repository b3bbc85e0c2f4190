#include "quiesce.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "gate.h"
#include "lifecycle.h"
#include "lower_api.h"
#include "lower_half.h"
#include "objects.h"
#include "phases.h"
#include "traffic.h"

namespace crmpi {
namespace {

MPI_Datatype lower_byte() { return static_cast<MPI_Datatype>(lower_predefined(MPI_BYTE)); }
MPI_Datatype lower_packed() { return static_cast<MPI_Datatype>(lower_predefined(MPI_PACKED)); }

// A communicator is named by its id and its lowest member's world rank: communicators made by one
// split share the id (one per color), and every rank's MPI_COMM_SELF has the same id.
uint64_t lowest_member(const VComm& c) {
  return static_cast<uint64_t>(*std::min_element(c.world.begin(), c.world.end()));
}

// This rank's (id, lowest member, entered collectives) for every live communicator.
std::vector<char> collective_counts() {
  std::vector<char> out;
  for (const auto& c : registry().comms) {
    if (!c->freed) {
      append_u64(out, c->id);
      append_u64(out, lowest_member(*c));
      append_u64(out, c->collectives);
    }
  }
  return out;
}

// Every communicator's target: the most collectives any member has entered.
void set_collective_targets(const std::vector<std::vector<char>>& all) {
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> most;
  for (const auto& counts : all) {
    for (size_t i = 0; i + 2 < count_u64(counts); i += 3) {
      auto& m = most[{read_u64(counts, i), read_u64(counts, i + 1)}];
      m = std::max(m, read_u64(counts, i + 2));
    }
  }
  for (const auto& c : registry().comms) {
    if (!c->freed) {
      c->target = most[{c->id, lowest_member(*c)}];
    }
  }
}

// Receives every message waiting on the application's communicators into the drain buffer.
void receive_waiting_messages() {
  Traffic& t = traffic();
  for (const auto& c : registry().comms) {
    if (c->freed) {
      continue;
    }
    for (;;) {
      int flag = 0;
      MPI_Status status{};
      check(lower.Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->real, &flag, &status), "quiesce: MPI_Iprobe");
      if (flag == 0) {
        break;
      }
      int bytes = 0;
      check(lower.Get_count(&status, lower_byte(), &bytes), "quiesce: MPI_Get_count");
      Drained message{c.get(), status.MPI_SOURCE, status.MPI_TAG, std::vector<char>(static_cast<size_t>(bytes))};
      check(lower.Recv(message.bytes.data(), bytes, lower_packed(), status.MPI_SOURCE, status.MPI_TAG, c->real,
                       MPI_STATUS_IGNORE),
            "quiesce: MPI_Recv");
      t.received(c.get(), status.MPI_SOURCE);
      t.drained.push_back(std::move(message));
    }
  }
}

// Drains until every message sent to this rank (expected[p] from world rank p) has arrived and every
// send of this rank has completed, or the deadline passes.
bool drain(const std::vector<uint64_t>& expected, uint64_t deadline_ns, std::string& why) {
  Traffic& t = traffic();
  for (unsigned spins = 0;; ++spins) {
    auto& pending = registry().pending;
    bool sends_done = true;
    for (auto& request : pending) {
      if (!progress(request.get()) && request->what == RequestKind::Send) {
        sends_done = false;
      }
    }
    std::erase_if(pending, [](const auto& r) { return r->detached && r->complete; });
    receive_waiting_messages();
    int missing_from = -1;
    for (size_t p = 0; p < expected.size(); ++p) {
      if (t.received_from[p] < expected[p]) {
        missing_from = static_cast<int>(p);
      }
    }
    if (missing_from < 0 && sends_done) {
      return true;
    }
    if (deadline_ns != 0 && (spins & 255) == 0 && monotonic_now_ns() >= deadline_ns) {
      if (missing_from >= 0) {
        auto p = static_cast<size_t>(missing_from);
        why = "the drain timed out: " + std::to_string(t.received_from[p]) + " of the " + std::to_string(expected[p]) +
              " messages of rank " + std::to_string(missing_from) + " arrived";
      } else {
        why = "the drain timed out: a send of this rank did not complete";
      }
      return false;
    }
    if (spins >= 32) {
      sched_yield();
    }
  }
}

}  // namespace

bool quiesce(Phases& phases, std::string& why) {
  Gate& g = gate();
  uint64_t deadline = phases.deadline_ns();
  if (!phases.via_pmix() && life().lower_thread_level < MPI_THREAD_MULTIPLE) {
    // The MPI fences would run on this thread while application threads are inside a lower half that
    // was not initialised for concurrent calls (lifecycle.h): refused, before anything is held. Every
    // rank normally finds the same PMIx, so every rank refuses at once; a rank that did find it waits
    // for the others until the deadline.
    why =
        "no usable PMIx for the checkpoint's fences, and the lower half runs below MPI_THREAD_MULTIPLE, "
        "so MPI fences could run concurrently with the application's calls; set CRCORE_MPI_COORDINATION=mpi "
        "for jobs without PMIx";
    return false;
  }
  if (!g.hold_unless_finalizing()) {
    // No fence: the application thread is inside (or past) MPI_Finalize, which may finalise the PMIx
    // client under it. The other ranks give up at the deadline.
    why = "this rank is finalizing MPI";
    return false;
  }
  FenceOutcome entered = phases.fence("entered", true, "", collective_counts());
  if (!entered.ok) {
    why = entered.why;
    return false;
  }
  set_collective_targets(entered.payloads);
  g.set_targets_known();
  bool at_cut = g.wait_for_collective_cut(deadline);
  FenceOutcome cut = phases.fence("cut", at_cut, "the collectives of the cut were not entered in time", {});
  if (!cut.ok) {
    why = cut.why;
    return false;
  }
  g.hold(Hold::All);
  bool idle = g.wait_until_idle(deadline);
  std::vector<char> sent;
  for (uint64_t n : traffic().sent_to) {
    append_u64(sent, n);
  }
  FenceOutcome counted = phases.fence("counted", idle, "an MPI call of the application did not return in time", sent);
  if (!counted.ok) {
    why = counted.why;
    return false;
  }
  auto me = static_cast<size_t>(world().rank);
  std::vector<uint64_t> expected(counted.payloads.size());
  for (size_t p = 0; p < expected.size(); ++p) {
    expected[p] = read_u64(counted.payloads[p], me);
  }
  std::string drain_why;
  bool drained = drain(expected, deadline, drain_why);
  FenceOutcome quiesced = phases.fence("quiesced", drained, drain_why, {});
  if (!quiesced.ok) {
    why = quiesced.why;
    return false;
  }
  return true;
}

}  // namespace crmpi
