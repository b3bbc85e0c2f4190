#include "pmix_client.h"

#include <dlfcn.h>
#if CRMPI_HAVE_PMIX
#include <pmix_common.h>
#endif
#include <time.h>

#include <cstdlib>
#include <cstring>

#include "lower_half.h"

namespace crmpi {

uint64_t monotonic_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

int seconds_left(uint64_t deadline_ns) {
  if (deadline_ns == 0) {
    return 0;
  }
  uint64_t now = monotonic_now_ns();
  if (now >= deadline_ns) {
    return 1;
  }
  uint64_t left = (deadline_ns - now + 999999999ull) / 1000000000ull;
  return left < 1 ? 1 : static_cast<int>(left);
}

#if CRMPI_HAVE_PMIX

namespace {

void load_proc(pmix_proc_t& proc, const std::string& nspace, uint32_t rank) {
  memset(&proc, 0, sizeof proc);
  strncpy(proc.nspace, nspace.c_str(), PMIX_MAX_NSLEN);
  proc.rank = rank;
}

// A pmix_info_t filled by hand: PMIx 4's PMIX_INFO_LOAD calls into the library, which this namespace
// must not load.
void load_timeout(pmix_info_t& info, int seconds) {
  memset(&info, 0, sizeof info);
  strncpy(info.key, PMIX_TIMEOUT, PMIX_MAX_KEYLEN);
  info.value.type = PMIX_INT;
  info.value.data.integer = seconds;
}

void load_flag(pmix_info_t& info, const char* key, bool value) {
  memset(&info, 0, sizeof info);
  strncpy(info.key, key, PMIX_MAX_KEYLEN);
  info.value.type = PMIX_BOOL;
  info.value.data.flag = value;
}

}  // namespace

std::string PmixClient::error(const char* call, int status) const {
  const char* text = error_string_ != nullptr ? error_string_(status) : nullptr;
  return std::string(call) + " failed: " + (text != nullptr ? text : "PMIx error " + std::to_string(status));
}

bool PmixClient::attach(int world_rank, int world_size, std::string& why) {
  detach();
  if (const char* fault = getenv("CRCORE_FAULT"); fault != nullptr && strcmp(fault, "mpi-no-pmix") == 0) {
    why = "CRCORE_FAULT=mpi-no-pmix (a test's fault injection)";
    return false;
  }
  void* pmix = lower_library("libpmix.so.2");
  if (pmix == nullptr) {
    why = "the lower half has no libpmix.so.2 loaded";
    return false;
  }
  auto initialized = reinterpret_cast<int (*)()>(dlsym(pmix, "PMIx_Initialized"));
  fence_ = reinterpret_cast<decltype(fence_)>(dlsym(pmix, "PMIx_Fence"));
  put_ = reinterpret_cast<decltype(put_)>(dlsym(pmix, "PMIx_Put"));
  commit_ = reinterpret_cast<decltype(commit_)>(dlsym(pmix, "PMIx_Commit"));
  get_ = reinterpret_cast<decltype(get_)>(dlsym(pmix, "PMIx_Get"));
  value_destruct_ = reinterpret_cast<decltype(value_destruct_)>(dlsym(pmix, "PMIx_Value_destruct"));
  error_string_ = reinterpret_cast<decltype(error_string_)>(dlsym(pmix, "PMIx_Error_string"));
  lower_free_ = reinterpret_cast<decltype(lower_free_)>(lower_symbol("free"));
  if (initialized == nullptr || fence_ == nullptr || put_ == nullptr || commit_ == nullptr || get_ == nullptr ||
      value_destruct_ == nullptr || lower_free_ == nullptr) {
    detach();
    why = "the lower half's libpmix lacks PMIx_Initialized/Fence/Put/Commit/Get/Value_destruct";
    return false;
  }
  if (initialized() == 0) {
    detach();
    why = "the lower half's PMIx client is not initialised";
    return false;
  }
  const char* nspace = getenv("PMIX_NAMESPACE");
  const char* rank = getenv("PMIX_RANK");
  if (nspace == nullptr || rank == nullptr || *nspace == '\0') {
    detach();
    why = "PMIX_NAMESPACE/PMIX_RANK are not set";
    return false;
  }
  if (atoi(rank) != world_rank) {
    detach();
    why = std::string("PMIX_RANK ") + rank + " is not MPI_COMM_WORLD rank " + std::to_string(world_rank);
    return false;
  }
  nspace_ = nspace;
  rank_ = world_rank;
  size_ = world_size;
  return true;
}

bool PmixClient::put(const std::string& key, const std::vector<char>& bytes, std::string& why) {
  pmix_value_t value;
  memset(&value, 0, sizeof value);
  value.type = PMIX_BYTE_OBJECT;
  value.data.bo.bytes = const_cast<char*>(bytes.data());
  value.data.bo.size = bytes.size();
  int rc = put_(PMIX_GLOBAL, key.c_str(), &value);  // PMIx copies the value
  if (rc != PMIX_SUCCESS) {
    why = error("PMIx_Put", rc);
    return false;
  }
  return true;
}

bool PmixClient::commit(std::string& why) {
  int rc = commit_();
  if (rc != PMIX_SUCCESS) {
    why = error("PMIx_Commit", rc);
    return false;
  }
  return true;
}

bool PmixClient::fence(uint64_t deadline_ns, std::string& why) {
  std::vector<pmix_proc_t> procs(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    load_proc(procs[static_cast<size_t>(r)], nspace_, static_cast<uint32_t>(r));
  }
  pmix_info_t info[2];
  load_flag(info[0], PMIX_COLLECT_DATA, true);
  size_t ninfo = 1;
  if (int seconds = seconds_left(deadline_ns); seconds > 0) {
    load_timeout(info[1], seconds);
    ninfo = 2;
  }
  int rc = fence_(procs.data(), procs.size(), info, ninfo);
  if (rc != PMIX_SUCCESS) {
    why = rc == PMIX_ERR_TIMEOUT ? "PMIx_Fence timed out (a rank did not arrive in time)" : error("PMIx_Fence", rc);
    return false;
  }
  return true;
}

bool PmixClient::get(int rank, const std::string& key, uint64_t deadline_ns, std::vector<char>& bytes,
                     std::string& why) {
  pmix_proc_t proc;
  load_proc(proc, nspace_, static_cast<uint32_t>(rank));
  pmix_info_t info[1];
  size_t ninfo = 0;
  if (int seconds = seconds_left(deadline_ns); seconds > 0) {
    load_timeout(info[0], seconds);
    ninfo = 1;
  }
  pmix_value_t* value = nullptr;
  int rc = get_(&proc, key.c_str(), info, ninfo, reinterpret_cast<void**>(&value));
  if (rc != PMIX_SUCCESS || value == nullptr) {
    why = error(("PMIx_Get of " + key + " from rank " + std::to_string(rank)).c_str(), rc);
    return false;
  }
  bool ok = value->type == PMIX_BYTE_OBJECT;
  if (ok) {
    bytes.assign(value->data.bo.bytes, value->data.bo.bytes + value->data.bo.size);
  } else {
    why = "PMIx_Get of " + key + " from rank " + std::to_string(rank) + ": not a byte object";
  }
  value_destruct_(value);
  lower_free_(value);
  return ok;
}

#else  // built without PMIx's headers: the phases are coordinated over MPI

bool PmixClient::attach(int, int, std::string& why) {
  why = "libcrmpi was built without PMIx (CRCORE_WITH_PMIX)";
  return false;
}
bool PmixClient::put(const std::string&, const std::vector<char>&, std::string& why) { return attach(0, 0, why); }
bool PmixClient::commit(std::string& why) { return attach(0, 0, why); }
bool PmixClient::fence(uint64_t, std::string& why) { return attach(0, 0, why); }
bool PmixClient::get(int, const std::string&, uint64_t, std::vector<char>&, std::string& why) {
  return attach(0, 0, why);
}

#endif

}  // namespace crmpi
