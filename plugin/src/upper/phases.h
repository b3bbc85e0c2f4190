// The phases of a global checkpoint, as seen by one rank: every rank arrives at each phase's fence
// with its verdict (fine or not, and why) and a payload for the others, and leaves it knowing whether
// every rank was fine, with every rank's payload. A fence is a PMIx fence of the job through the lower
// half's own PMIx client (pmix_client.h): the payloads are put and committed before it and read after
// it, and it gives up at the request's deadline. Without a usable PMIx client the ranks meet on the
// layer's private duplicate of MPI_COMM_WORLD instead (MPI_Allgather(v)), which cannot time out.
//
// A fence can only succeed for all of its ranks or for none of them (the PMIx server drops a fence
// that timed out), so every rank takes the same decision. Each payload carries the attempt's nonce
// (agreed at the first fence), so that a rank that arrives at a fence of an abandoned attempt is never
// taken for one at the current attempt's fence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pmix_client.h"

namespace crmpi {

struct FenceOutcome {
  bool ok = false;                          // every rank arrived, in time, and was fine
  std::string why;                          // otherwise: the first reason known here
  std::vector<std::vector<char>> payloads;  // when ok: every rank's payload, by world rank
};

class Phases {
 public:
  // One checkpoint attempt of this rank; deadline_ns (CLOCK_MONOTONIC, 0 = none) bounds all fences.
  explicit Phases(uint64_t deadline_ns);
  bool via_pmix() const { return pmix_.attached(); }
  uint64_t deadline_ns() const { return deadline_ns_; }
  void set_deadline(uint64_t deadline_ns) { deadline_ns_ = deadline_ns; }
  // The fence of phase `name` (the same sequence of names on every rank).
  FenceOutcome fence(const char* name, bool fine, const std::string& why, const std::vector<char>& payload);

 private:
  FenceOutcome fence_pmix(const char* name, const std::vector<char>& record);
  FenceOutcome fence_mpi(const std::vector<char>& record);

  uint64_t deadline_ns_;
  PmixClient pmix_;
  uint64_t nonce_ = 0;  // 0 until the first fence agreed on it
  int rank_ = 0;
  int size_ = 0;
};

// CRMPI_DEBUG is set: the layer's debug lines go to stderr.
bool debug_output();

// Little helpers for payloads of plain numbers.
void append_u64(std::vector<char>& out, uint64_t value);
uint64_t read_u64(const std::vector<char>& in, size_t index);  // the index-th number; 0 past the end
size_t count_u64(const std::vector<char>& in);

}  // namespace crmpi
