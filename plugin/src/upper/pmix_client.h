// The lower half's PMIx client, borrowed: Open MPI's MPI_Init has connected it to the launcher's PMIx
// server, and the layer reaches its functions by name in the lower half's namespace (it never loads a
// PMIx library of its own, and never initialises or finalises the client). Used by the checkpoint's
// phase fences (phases.h). Every call takes a deadline and gives up on it (PMIX_TIMEOUT: the server
// drops a fence that timed out, so a later fence starts clean).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crmpi {

class PmixClient {
 public:
  // Looks the client up in the lower half that is loaded now. False (with why) when the lower half has
  // no usable PMIx client: no libpmix loaded, a function missing, not initialised, or the job's
  // PMIX_NAMESPACE/PMIX_RANK unknown or not this world rank.
  bool attach(int world_rank, int world_size, std::string& why);
  bool attached() const { return fence_ != nullptr; }
  void detach() { fence_ = nullptr; }

  // deadline_ns: CLOCK_MONOTONIC, 0 = none. Each returns false with why on failure or timeout.
  bool put(const std::string& key, const std::vector<char>& bytes, std::string& why);
  bool commit(std::string& why);
  // A fence of every rank of the job (an explicit list of all ranks: never matched with Open MPI's own
  // fences, which name the whole namespace), collecting the data put before it.
  bool fence(uint64_t deadline_ns, std::string& why);
  bool get(int rank, const std::string& key, uint64_t deadline_ns, std::vector<char>& bytes, std::string& why);

 private:
  int rank_ = -1;
  int size_ = 0;
  std::string nspace_;
  // The lower half's functions (pmix_status_t is int).
  int (*fence_)(const void* procs, size_t nprocs, const void* info, size_t ninfo) = nullptr;
  int (*put_)(uint8_t scope, const char* key, void* value) = nullptr;
  int (*commit_)() = nullptr;
  int (*get_)(const void* proc, const char* key, const void* info, size_t ninfo, void** value) = nullptr;
  void (*value_destruct_)(void* value) = nullptr;
  void (*lower_free_)(void* memory) = nullptr;  // the lower libc's: it allocated what PMIx_Get returns
  const char* (*error_string_)(int status) = nullptr;

  std::string error(const char* call, int status) const;
};

// The seconds left until deadline_ns for a PMIX_TIMEOUT (at least 1); 0 when there is no deadline.
int seconds_left(uint64_t deadline_ns);
uint64_t monotonic_now_ns();

}  // namespace crmpi
