#include "rtld_namespace.h"

#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>

namespace crmpi {
namespace {

// glibc 2.36 x86-64: struct link_namespaces (elf/ldsodefs.h) is 160 bytes; 16 of them open
// struct rtld_global, followed by _dl_nns.
constexpr size_t kNamespaceSize = 160;
constexpr size_t kMaxNamespaces = 16;
constexpr size_t kLoaded = 0, kNLoaded = 8, kMainSearchlist = 16, kGlobalScopeAlloc = 24, kPendingAdds = 28,
                 kLibcMap = 32, kUniqueEntries = 80, kUniqueSize = 88, kUniqueElements = 96, kDebugMap = 120;
constexpr size_t kRtldGlobalSize = 4336;

template <typename T>
T& field(unsigned char* base, size_t offset) {
  return *reinterpret_cast<T*>(base + offset);
}

struct SlotInfo {
  size_t gen;
  struct link_map* map;
};
struct SlotInfoList {
  size_t len;
  SlotInfoList* next;
  SlotInfo slotinfo[];
};

// Reads memory that may not be mapped (a candidate pointer) without faulting.
bool safe_read(const void* address, void* out, size_t length) {
  struct iovec local = {out, length};
  struct iovec remote = {const_cast<void*>(address), length};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(length);
}

// The dtv slot-info list (GL(dl_tls_dtv_slotinfo_list)): the pointer field of rtld_global after the
// namespaces whose list names libc's link map (libc has TLS). Nullptr if not found.
SlotInfoList* find_slotinfo_list(unsigned char* rtld, const struct link_map* libc) {
  for (size_t off = kMaxNamespaces * kNamespaceSize; off + 8 <= kRtldGlobalSize; off += 8) {
    auto* candidate = field<SlotInfoList*>(rtld, off);
    if (reinterpret_cast<uintptr_t>(candidate) % 8 != 0) {
      continue;
    }
    size_t head[2];
    if (!safe_read(candidate, head, sizeof head) || head[0] == 0 || head[0] > 4096) {
      continue;
    }
    size_t n = head[0] < 64 ? head[0] : 64;
    SlotInfo entries[64];
    if (!safe_read(candidate->slotinfo, entries, n * sizeof(SlotInfo))) {
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      if (entries[i].map == libc) {
        return candidate;
      }
    }
  }
  return nullptr;
}

}  // namespace

void unlink_namespace(const struct link_map* any_object) {
  auto* rtld = static_cast<unsigned char*>(dlsym(RTLD_DEFAULT, "_rtld_global"));
  if (rtld == nullptr) {
    throw std::runtime_error("the dynamic linker's state (_rtld_global) is not visible");
  }
  const struct link_map* head = any_object;
  while (head->l_prev != nullptr) {
    head = head->l_prev;
  }
  std::set<const struct link_map*> stale;
  for (const struct link_map* l = head; l != nullptr; l = l->l_next) {
    stale.insert(l);
  }
  // Which namespace slot holds it? Namespace 0 must hold the main program's list.
  if (field<struct link_map*>(rtld, kLoaded) != _r_debug.r_map) {
    throw std::runtime_error("unknown dynamic-linker layout (namespace 0 not where glibc 2.36 keeps it)");
  }
  size_t nns = field<size_t>(rtld, kMaxNamespaces * kNamespaceSize);
  if (nns < 2 || nns > kMaxNamespaces) {
    throw std::runtime_error("unknown dynamic-linker layout (namespace count " + std::to_string(nns) + ")");
  }
  unsigned char* ns = nullptr;
  for (size_t i = 1; i < nns; ++i) {
    unsigned char* candidate = rtld + i * kNamespaceSize;
    if (field<const struct link_map*>(candidate, kLoaded) == head) {
      ns = candidate;
    }
  }
  if (ns == nullptr) {
    throw std::runtime_error("the old MPI lower half's namespace is not registered with the dynamic linker");
  }
  if (field<unsigned int>(ns, kNLoaded) != stale.size()) {
    throw std::runtime_error("unknown dynamic-linker layout (object count of the old lower half differs)");
  }
  void* libc_handle = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  struct link_map* libc = nullptr;
  if (libc_handle == nullptr || dlinfo(libc_handle, RTLD_DI_LINKMAP, &libc) != 0) {
    throw std::runtime_error("cannot find libc's link map");
  }
  dlclose(libc_handle);
  SlotInfoList* slots = find_slotinfo_list(rtld, libc);
  if (slots == nullptr) {
    throw std::runtime_error("unknown dynamic-linker layout (TLS slot list not found)");
  }
  // From here on nothing can fail. The old objects' TLS blocks must not be initialised in new
  // threads (their initialisation images are gone).
  for (SlotInfoList* list = slots; list != nullptr; list = list->next) {
    for (size_t i = 0; i < list->len; ++i) {
      if (stale.count(list->slotinfo[i].map) != 0) {
        list->slotinfo[i].map = nullptr;
      }
    }
  }
  field<struct link_map*>(ns, kLoaded) = nullptr;
  field<unsigned int>(ns, kNLoaded) = 0;
  field<void*>(ns, kMainSearchlist) = nullptr;
  field<unsigned int>(ns, kGlobalScopeAlloc) = 0;
  field<unsigned int>(ns, kPendingAdds) = 0;
  field<void*>(ns, kLibcMap) = nullptr;
  field<void*>(ns, kUniqueEntries) = nullptr;
  field<size_t>(ns, kUniqueSize) = 0;
  field<size_t>(ns, kUniqueElements) = 0;
  field<void*>(ns, kDebugMap) = nullptr;
}

}  // namespace crmpi
