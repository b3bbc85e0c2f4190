#include "phases.h"

#include <sys/random.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lifecycle.h"
#include "lower_api.h"
#include "lower_half.h"
#include "objects.h"

namespace crmpi {

void append_u64(std::vector<char>& out, uint64_t value) {
  char bytes[8];
  memcpy(bytes, &value, sizeof bytes);
  out.insert(out.end(), bytes, bytes + sizeof bytes);
}

uint64_t read_u64(const std::vector<char>& in, size_t index) {
  uint64_t value = 0;
  if ((index + 1) * 8 <= in.size()) {
    memcpy(&value, in.data() + index * 8, 8);
  }
  return value;
}

size_t count_u64(const std::vector<char>& in) { return in.size() / 8; }

namespace {

// A fence record: phase (a hash of its name), nonce, fine, length of why, why, payload.
constexpr size_t kHeader = 4 * 8;

uint64_t phase_id(const char* name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (const char* p = name; *p != '\0'; ++p) {
    h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  }
  return h;
}

std::vector<char> make_record(uint64_t phase, uint64_t nonce, bool fine, const std::string& why,
                              const std::vector<char>& payload) {
  std::vector<char> record;
  append_u64(record, phase);
  append_u64(record, nonce);
  append_u64(record, fine ? 1 : 0);
  append_u64(record, why.size());
  record.insert(record.end(), why.begin(), why.end());
  record.insert(record.end(), payload.begin(), payload.end());
  return record;
}

uint64_t random_nonce() {
  uint64_t value = 0;
  while (value == 0) {
    if (getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
      value = monotonic_now_ns() ^ (static_cast<uint64_t>(getpid()) << 32);
    }
  }
  return value;
}

}  // namespace

bool debug_output() {
  static const bool on = getenv("CRMPI_DEBUG") != nullptr;
  return on;
}

Phases::Phases(uint64_t deadline_ns) : deadline_ns_(deadline_ns) {
  rank_ = world().rank;
  size_ = static_cast<int>(world().world.size());
  std::string why;
  const char* choice = getenv("CRCORE_MPI_COORDINATION");
  bool want_pmix = choice == nullptr || strcmp(choice, "mpi") != 0;
  if (want_pmix && !pmix_.attach(rank_, size_, why)) {
    fprintf(stderr, "crcore MPI layer: rank %d: no PMIx for the checkpoint's fences (%s): using MPI\n", rank_,
            why.c_str());
  }
  if (debug_output()) {
    fprintf(stderr, "crmpi: rank %d: checkpoint phases coordinated by %s%s\n", rank_,
            pmix_.attached() ? "PMIx fences (the lower half's PMIx client)" : "MPI on a private communicator",
            want_pmix ? "" : " (CRCORE_MPI_COORDINATION=mpi)");
  }
}

FenceOutcome Phases::fence(const char* name, bool fine, const std::string& why, const std::vector<char>& payload) {
  uint64_t phase = phase_id(name);
  uint64_t mine = nonce_ != 0 ? nonce_ : random_nonce();
  std::vector<char> record = make_record(phase, mine, fine, why, payload);
  FenceOutcome outcome = via_pmix() ? fence_pmix(name, record) : fence_mpi(record);
  if (!outcome.ok) {
    return outcome;
  }
  // Every record must be of this phase and attempt; the first fence agrees on the attempt's nonce.
  uint64_t agreed = 0;
  for (int r = 0; r < size_; ++r) {
    const std::vector<char>& got = outcome.payloads[static_cast<size_t>(r)];
    if (got.size() < kHeader || read_u64(got, 0) != phase || (nonce_ != 0 && read_u64(got, 1) != nonce_)) {
      outcome.ok = false;
      outcome.why = "rank " + std::to_string(r) + " is at another phase or checkpoint attempt than '" + name + "'";
      outcome.payloads.clear();
      return outcome;
    }
    agreed ^= read_u64(got, 1);
  }
  for (int r = 0; r < size_; ++r) {
    std::vector<char>& got = outcome.payloads[static_cast<size_t>(r)];
    uint64_t why_length = read_u64(got, 3);
    if (read_u64(got, 2) == 0 && outcome.ok) {
      outcome.ok = false;
      outcome.why = "rank " + std::to_string(r) + ": " + std::string(got.data() + kHeader, why_length);
    }
    got.erase(got.begin(), got.begin() + static_cast<long>(kHeader + why_length));
  }
  if (nonce_ == 0) {
    nonce_ = agreed != 0 ? agreed : 1;
  }
  if (!outcome.ok) {
    outcome.payloads.clear();
  }
  if (debug_output()) {
    fprintf(stderr, "crmpi: rank %d: phase '%s' %s%s%s\n", rank_, name,
            outcome.ok ? "passed" : "failed: ", outcome.ok ? "" : outcome.why.c_str(),
            via_pmix() ? " (PMIx fence)" : " (MPI)");
  }
  return outcome;
}

FenceOutcome Phases::fence_pmix(const char* name, const std::vector<char>& record) {
  FenceOutcome outcome;
  std::string key = std::string("crcore.ckpt.") + name;
  if (!pmix_.put(key, record, outcome.why) || !pmix_.commit(outcome.why) || !pmix_.fence(deadline_ns_, outcome.why)) {
    return outcome;
  }
  outcome.payloads.resize(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    if (!pmix_.get(r, key, deadline_ns_, outcome.payloads[static_cast<size_t>(r)], outcome.why)) {
      outcome.payloads.clear();
      return outcome;
    }
  }
  outcome.ok = true;
  return outcome;
}

FenceOutcome Phases::fence_mpi(const std::vector<char>& record) {
  FenceOutcome outcome;
  auto lower_int = static_cast<MPI_Datatype>(lower_predefined(MPI_INT));
  auto lower_byte = static_cast<MPI_Datatype>(lower_predefined(MPI_BYTE));
  MPI_Comm shadow = world_shadow();
  int length = static_cast<int>(record.size());
  std::vector<int> lengths(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  check(lower.Allgather(&length, 1, lower_int, lengths.data(), 1, lower_int, shadow), "checkpoint: MPI_Allgather");
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<size_t>(r)] = total;
    total += lengths[static_cast<size_t>(r)];
  }
  std::vector<char> all(static_cast<size_t>(total));
  check(lower.Allgatherv(record.data(), length, lower_byte, all.data(), lengths.data(), offsets.data(), lower_byte,
                         shadow),
        "checkpoint: MPI_Allgatherv");
  outcome.payloads.resize(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    auto begin = all.begin() + offsets[static_cast<size_t>(r)];
    outcome.payloads[static_cast<size_t>(r)].assign(begin, begin + lengths[static_cast<size_t>(r)]);
  }
  outcome.ok = true;
  return outcome;
}

}  // namespace crmpi
