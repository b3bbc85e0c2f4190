#include "lower_half.h"

#include <dlfcn.h>
#include <link.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "crcore_ext.h"
#include "lower/crmpi_lower.h"
#include "lower_api.h"
#include "rtld_namespace.h"

namespace crmpi {

LowerApi lower;

namespace {

void* g_handle = nullptr;               // the shim's handle in the lower namespace (a link map)
std::atomic<uint64_t> g_generation{0};  // lower halves loaded so far
void (*g_ctype_init)() = nullptr;       // the lower libc's __ctype_init
thread_local uint64_t t_prepared = 0;
std::mutex g_cache_lock;
std::unordered_map<const void*, void*> g_to_lower;
std::unordered_map<const void*, void*> g_to_upper;

const crmpi_lower_hooks g_hooks = {CRMPI_LOWER_VERSION,   crcore_exclude_memory, crcore_include_memory,
                                   crcore_exclude_thread, crcore_exclude_fd,     crcore_include_fd};

std::string shim_path() {
  if (const char* explicit_path = getenv("CRCORE_MPI_LOWER"); explicit_path != nullptr && *explicit_path != '\0') {
    return explicit_path;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&load_lower_half), &info) == 0 || info.dli_fname == nullptr) {
    throw std::runtime_error("cannot find where libcrmpi.so is installed");
  }
  std::string dir = info.dli_fname;
  dir = dir.substr(0, dir.rfind('/') + 1);
  for (const std::string& candidate : {dir + "crcore/libcrmpi_lower.so", dir + "libcrmpi_lower.so"}) {
    if (access(candidate.c_str(), R_OK) == 0) {
      return candidate;
    }
  }
  throw std::runtime_error("libcrmpi_lower.so is missing next to " + std::string(info.dli_fname) +
                           " (set CRCORE_MPI_LOWER to its path)");
}

// The symbol an object's address is the start of, if any.
const char* symbol_at(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_sname == nullptr || info.dli_saddr != address) {
    return nullptr;
  }
  return info.dli_sname;
}

}  // namespace

void load_lower_half() {
  std::string path = shim_path();
  void* handle = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    throw std::runtime_error("cannot load the MPI library as a lower half (" + path + "): " + dlerror());
  }
  auto attach = reinterpret_cast<int (*)(const crmpi_lower_hooks*)>(dlsym(handle, "crmpi_lower_attach"));
  if (attach == nullptr || attach(&g_hooks) != 0) {
    throw std::runtime_error(path + " is not the lower half of this version of libcrmpi");
  }
  LowerApi table;
#define CRMPI_RESOLVE(name)                                                          \
  table.name = reinterpret_cast<decltype(table.name)>(dlsym(handle, "PMPI_" #name)); \
  if (table.name == nullptr) {                                                       \
    throw std::runtime_error("the lower half's MPI library lacks PMPI_" #name);      \
  }
  CRMPI_LOWER_FUNCTIONS(CRMPI_RESOLVE)
#undef CRMPI_RESOLVE
  {
    std::lock_guard lock(g_cache_lock);
    g_to_lower.clear();
    g_to_upper.clear();
  }
  g_handle = handle;
  lower = table;
  g_ctype_init = reinterpret_cast<void (*)()>(dlsym(handle, "__ctype_init"));
  t_prepared = g_generation.fetch_add(1) + 1;  // the loading thread is ready
}

void prepare_thread_for_lower_half() {
  uint64_t now = g_generation.load(std::memory_order_acquire);
  if (t_prepared != now) {
    if (g_ctype_init != nullptr) {
      g_ctype_init();
    }
    t_prepared = now;
  }
}

void refresh_lower_objects() {
  auto refresh = reinterpret_cast<void (*)()>(dlsym(g_handle, "crmpi_lower_refresh_objects"));
  if (refresh != nullptr) {
    refresh();
  }
}

void* lower_symbol(const char* name) { return g_handle != nullptr ? dlsym(g_handle, name) : nullptr; }

void* lower_predefined(const void* upper) {
  std::lock_guard lock(g_cache_lock);
  if (auto it = g_to_lower.find(upper); it != g_to_lower.end()) {
    return it->second;
  }
  const char* name = symbol_at(upper);
  if (name == nullptr || (strncmp(name, "ompi_mpi_", 9) != 0 && strncmp(name, "ompi_", 5) != 0)) {
    return nullptr;
  }
  void* found = dlsym(g_handle, name);
  if (getenv("CRMPI_DEBUG") != nullptr) {
    fprintf(stderr, "crmpi: %s upper %p -> lower %p (handle %p)\n", name, upper, found, g_handle);
  }
  if (found != nullptr) {
    g_to_lower.emplace(upper, found);
    g_to_upper.emplace(found, const_cast<void*>(upper));
  }
  return found;
}

void* upper_predefined(const void* lower_handle) {
  std::lock_guard lock(g_cache_lock);
  if (auto it = g_to_upper.find(lower_handle); it != g_to_upper.end()) {
    return it->second;
  }
  const char* name = symbol_at(lower_handle);
  if (name == nullptr) {
    return nullptr;
  }
  void* found = dlsym(RTLD_DEFAULT, name);
  if (found != nullptr) {
    g_to_upper.emplace(lower_handle, found);
    g_to_lower.emplace(found, const_cast<void*>(lower_handle));
  }
  return found;
}

void forget_old_lower_half() {
  if (g_handle == nullptr) {
    return;
  }
  struct link_map* map = nullptr;
  // dlinfo would take the loader's lock and look the handle up: the handle is the link map itself.
  map = static_cast<struct link_map*>(g_handle);
  unlink_namespace(map);
  g_handle = nullptr;
  lower = LowerApi{};
}

}  // namespace crmpi
