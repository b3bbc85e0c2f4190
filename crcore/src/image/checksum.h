// Checksums of the image format: XXH3, header-only and allocation-free.
//
// Async-signal-safe: every function here only reads memory and computes; nothing allocates
// (the streaming state lives inside PayloadHash, never from XXH3_createState), locks or fails.
// The writer calls these while the application's threads are stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <xxhash.h>

#include "image/format.h"

namespace crcore::image {

// FileHeader.header_check: low 32 bits of XXH3-64 over the bytes before the field.
inline uint32_t file_header_check(const FileHeader& header) {
  static_assert(offsetof(FileHeader, header_check) == 68);
  return static_cast<uint32_t>(XXH3_64bits(&header, offsetof(FileHeader, header_check)));
}

// RecordHeader.header_check: low 32 bits of XXH3-64 over the header with header_check = 0.
inline uint32_t record_header_check(const RecordHeader& header) {
  RecordHeader copy;
  std::memcpy(&copy, &header, sizeof copy);
  copy.header_check = 0;
  return static_cast<uint32_t>(XXH3_64bits(&copy, sizeof copy));
}

// RecordHeader.payload_hash, computed over a payload given in any number of pieces.
class PayloadHash {
 public:
  PayloadHash() { reset(); }
  PayloadHash(const PayloadHash&) = delete;
  PayloadHash& operator=(const PayloadHash&) = delete;

  void reset() {
    XXH3_INITSTATE(&state_);
    XXH3_64bits_reset(&state_);
  }
  void update(const void* data, size_t length) {
    if (length != 0) {
      XXH3_64bits_update(&state_, data, length);
    }
  }
  uint64_t digest() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

// One-shot payload hash of a contiguous buffer (equal to PayloadHash over the same bytes).
inline uint64_t payload_hash(const void* data, size_t length) { return XXH3_64bits(data, length); }

}  // namespace crcore::image
