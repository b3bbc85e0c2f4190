// Translation of predefined handles (MPI_INT, MPI_SUM, MPI_COMM_WORLD...: addresses of libmpi's
// ompi_* objects in the application's namespace) into the lower half's, on every call that names a
// datatype, an op or a predefined communicator. A table built when the lower half is loaded (at
// MPI_Init, and again at every restart, while every application thread is held at the gate), read
// without locks: open addressing over the address, never more than half full.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace crmpi {

class PredefinedTable {
 public:
  static constexpr size_t kSlots = 1024;  // a power of two, at least twice the names (lower_half.cpp)

  void clear() {
    std::fill(std::begin(to_lower_), std::end(to_lower_), Slot{});
    std::fill(std::begin(to_upper_), std::end(to_upper_), Slot{});
    for (auto& size : sizes_) {
      size.store(kSizeUnknown, std::memory_order_relaxed);
    }
  }
  void add(const void* upper, void* lower_handle) {
    insert(to_lower_, upper, lower_handle);
    insert(to_upper_, lower_handle, const_cast<void*>(upper));
  }
  void* lower_of(const void* upper) const { return find(to_lower_, upper); }
  void* upper_of(const void* lower_handle) const { return find(to_upper_, lower_handle); }

  // A predefined object's lower handle and, for a datatype, its size in bytes, in one probe (every small
  // send and receive asks both). The size is cached beside the entry (kSizeUnknown until set_size;
  // cleared with the table: a new lower half).
  static constexpr int kSizeUnknown = -1;
  struct Sized {
    void* lower;  // nullptr: not a predefined object
    int size;
  };
  Sized sized(const void* upper) const {
    size_t i = index(to_lower_, upper);
    return i < kSlots ? Sized{to_lower_[i].value, sizes_[i].load(std::memory_order_relaxed)}
                      : Sized{nullptr, kSizeUnknown};
  }
  void set_size(const void* upper, int size) {
    if (size_t i = index(to_lower_, upper); i < kSlots) {
      sizes_[i].store(size, std::memory_order_relaxed);
    }
  }

 private:
  struct Slot {
    const void* key = nullptr;
    void* value = nullptr;
  };
  static size_t home(const void* key) {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(key) >> 3) * 0x9e3779b97f4a7c15ull >> 54) & (kSlots - 1);
  }
  static void insert(Slot (&slots)[kSlots], const void* key, void* value) {
    for (size_t i = home(key);; i = (i + 1) & (kSlots - 1)) {
      if (slots[i].key == nullptr || slots[i].key == key) {
        slots[i] = Slot{key, value};
        return;
      }
    }
  }
  // The slot holding key, kSlots when absent.
  static size_t index(const Slot (&slots)[kSlots], const void* key) {
    for (size_t i = home(key);; i = (i + 1) & (kSlots - 1)) {
      if (slots[i].key == key) {
        return i;
      }
      if (slots[i].key == nullptr) {
        return kSlots;
      }
    }
  }
  static void* find(const Slot (&slots)[kSlots], const void* key) {
    size_t i = index(slots, key);
    return i < kSlots ? slots[i].value : nullptr;
  }
  Slot to_lower_[kSlots];
  Slot to_upper_[kSlots];
  // Written inside a gate passage (by one thread at a time: the application's MPI is at most
  // SERIALIZED), read by any; relaxed atomics for the checkpoint thread's reads.
  std::atomic<int> sizes_[kSlots] = {};
};

extern PredefinedTable g_predefined;

}  // namespace crmpi
