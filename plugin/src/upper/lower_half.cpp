#include "lower_half.h"

#include <dlfcn.h>
#include <link.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>

#include "crcore_ext.h"
#include "lower/crmpi_lower.h"
#include "lower_api.h"
#include "predefined.h"
#include "rtld_namespace.h"

namespace crmpi {

LowerApi lower;
PredefinedTable g_predefined;
std::atomic<uint64_t> g_lower_generation{0};
constinit thread_local uint64_t t_lower_prepared __attribute__((tls_model("initial-exec"))) = 0;

namespace {

void* g_handle = nullptr;          // the shim's handle in the lower namespace (a link map)
void (*g_ctype_init)() = nullptr;  // the lower libc's __ctype_init

// The names of libmpi's data objects (ompi_*), taken from the library at build time.
constexpr const char* kPredefinedNames[] = {
#include "predefined.inc"
};
static_assert(PredefinedTable::kSlots >= 2 * std::size(kPredefinedNames));

// Every predefined object the application can name: its address in the application's namespace
// (libmpi's, or the executable's copy of it) and in the lower half's.
void build_predefined_table(void* handle) {
  g_predefined.clear();
  const bool debug = getenv("CRMPI_DEBUG") != nullptr;
  for (const char* name : kPredefinedNames) {
    void* upper = dlsym(RTLD_DEFAULT, name);
    void* found = dlsym(handle, name);
    if (upper != nullptr && found != nullptr) {
      g_predefined.add(upper, found);
      if (debug) {
        fprintf(stderr, "crmpi: %s upper %p -> lower %p (handle %p)\n", name, upper, found, handle);
      }
    }
  }
}

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

// Not in the table (an object the build-time list lacks, or not a predefined handle at all): by the
// symbol at that address. Rare, so a lock and dladdr are fine here.
void* lower_predefined_by_name(const void* upper) {
  static std::mutex lock;
  std::lock_guard guard(lock);
  const char* name = symbol_at(upper);
  if (name == nullptr || strncmp(name, "ompi_", 5) != 0 || g_handle == nullptr) {
    return nullptr;
  }
  return dlsym(g_handle, name);
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
  build_predefined_table(handle);
  g_handle = handle;
  lower = table;
  g_ctype_init = reinterpret_cast<void (*)()>(dlsym(handle, "__ctype_init"));
  t_lower_prepared = g_lower_generation.fetch_add(1) + 1;  // the loading thread is ready
}

void prepare_thread_for_lower_half_slow() {
  if (g_ctype_init != nullptr) {
    g_ctype_init();
  }
  t_lower_prepared = g_lower_generation.load(std::memory_order_acquire);
}

void refresh_lower_objects() {
  auto refresh = reinterpret_cast<void (*)()>(dlsym(g_handle, "crmpi_lower_refresh_objects"));
  if (refresh != nullptr) {
    refresh();
  }
}

void* lower_predefined_slow(const void* upper) { return lower_predefined_by_name(upper); }

void* lower_library(const char* soname) {
  if (g_handle == nullptr) {
    return nullptr;
  }
  Lmid_t namespace_id = 0;
  if (dlinfo(g_handle, RTLD_DI_LMID, &namespace_id) != 0) {
    return nullptr;
  }
  return dlmopen(namespace_id, soname, RTLD_NOW | RTLD_NOLOAD);
}

void* lower_symbol(const char* name) { return g_handle != nullptr ? dlsym(g_handle, name) : nullptr; }

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
