#include "quiesce.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "gate.h"
#include "lower_api.h"
#include "lower_half.h"
#include "objects.h"
#include "traffic.h"

namespace crmpi {
namespace {

MPI_Datatype lower_uint64() { return static_cast<MPI_Datatype>(lower_predefined(MPI_UINT64_T)); }
MPI_Datatype lower_byte() { return static_cast<MPI_Datatype>(lower_predefined(MPI_BYTE)); }
MPI_Datatype lower_packed() { return static_cast<MPI_Datatype>(lower_predefined(MPI_PACKED)); }

// Step 1: every communicator's target = the most collectives any member has entered. A communicator
// is named by its id and its lowest member's world rank: communicators made by one split share the id
// (one per color), and every rank's MPI_COMM_SELF has the same id.
uint64_t lowest_member(const VComm& c) {
  return static_cast<uint64_t>(*std::min_element(c.world.begin(), c.world.end()));
}

void agree_on_collective_cut() {
  Registry& r = registry();
  std::vector<uint64_t> mine;  // id, lowest member, count
  for (const auto& c : r.comms) {
    if (!c->freed) {
      mine.push_back(c->id);
      mine.push_back(lowest_member(*c));
      mine.push_back(c->collectives);
    }
  }
  MPI_Comm shadow = world().shadow;
  int size = static_cast<int>(world().world.size());
  int my_length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<size_t>(size));
  check(lower.Allgather(&my_length, 1, static_cast<MPI_Datatype>(lower_predefined(MPI_INT)), lengths.data(), 1,
                        static_cast<MPI_Datatype>(lower_predefined(MPI_INT)), shadow),
        "quiesce: MPI_Allgather");
  std::vector<int> offsets(static_cast<size_t>(size));
  int total = 0;
  for (int i = 0; i < size; ++i) {
    offsets[static_cast<size_t>(i)] = total;
    total += lengths[static_cast<size_t>(i)];
  }
  std::vector<uint64_t> all(static_cast<size_t>(total));
  check(lower.Allgatherv(mine.data(), my_length, lower_uint64(), all.data(), lengths.data(), offsets.data(),
                         lower_uint64(), shadow),
        "quiesce: MPI_Allgatherv");
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> most;
  for (size_t i = 0; i + 2 < all.size(); i += 3) {
    auto& m = most[{all[i], all[i + 1]}];
    m = std::max(m, all[i + 2]);
  }
  for (const auto& c : r.comms) {
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

// Step 2: drain until every message sent to this rank has arrived and every send has completed.
void drain() {
  Traffic& t = traffic();
  size_t size = world().world.size();
  std::vector<uint64_t> expected(size);
  check(lower.Alltoall(t.sent_to.data(), 1, lower_uint64(), expected.data(), 1, lower_uint64(), world().shadow),
        "quiesce: MPI_Alltoall");
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
    bool all_arrived = true;
    for (size_t p = 0; p < size; ++p) {
      if (t.received_from[p] < expected[p]) {
        all_arrived = false;
      }
    }
    if (all_arrived && sends_done) {
      return;
    }
    if (spins >= 32) {
      sched_yield();
    }
  }
}

}  // namespace

void quiesce() {
  Gate& g = gate();
  g.hold(Hold::Collectives);
  agree_on_collective_cut();
  g.set_targets_known();
  g.wait_for_collective_cut();
  check(lower.Barrier(world().shadow), "quiesce: MPI_Barrier");
  g.hold(Hold::All);
  g.wait_until_idle();
  drain();
  check(lower.Barrier(world().shadow), "quiesce: MPI_Barrier");
}

}  // namespace crmpi
