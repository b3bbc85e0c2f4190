// Replaces the global operator new/delete of the test program (forwarding to malloc/free) so that
// AllocationProbe can see allocation sizes.
#include "allocation_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> g_active{false};
std::atomic<size_t> g_largest{0};

void* allocate(size_t size) {
  if (g_active.load(std::memory_order_relaxed)) {
    size_t seen = g_largest.load(std::memory_order_relaxed);
    while (size > seen && !g_largest.compare_exchange_weak(seen, size)) {
    }
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}

}  // namespace

void* operator new(size_t size) { return allocate(size); }
void* operator new[](size_t size) { return allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace crcore::image::testing {

AllocationProbe::AllocationProbe() {
  g_largest = 0;
  g_active = true;
}

AllocationProbe::~AllocationProbe() { g_active = false; }

size_t AllocationProbe::largest() const { return g_largest.load(); }

}  // namespace crcore::image::testing
