// Byte shuffle (byte_shuffle.h). ASYNC-SIGNAL-SAFE: pure computation.
#include "image/byte_shuffle.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace crcore::image {
namespace {

// Transposes the 8x8 matrix of bytes whose row i is r[i] (byte k: bits 8k..8k+7): afterwards byte i
// of r[k] is what byte k of r[i] was. Swaps the off-diagonal 4x4 blocks, then the 2x2 blocks inside
// each, then single bytes. Its own inverse.
inline void transpose8x8(uint64_t r[8]) {
  for (int i = 0; i < 4; ++i) {
    uint64_t t = ((r[i] >> 32) ^ r[i + 4]) & 0x00000000ffffffffull;
    r[i] ^= t << 32;
    r[i + 4] ^= t;
  }
  for (int i : {0, 1, 4, 5}) {
    uint64_t t = ((r[i] >> 16) ^ r[i + 2]) & 0x0000ffff0000ffffull;
    r[i] ^= t << 16;
    r[i + 2] ^= t;
  }
  for (int i = 0; i < 8; i += 2) {
    uint64_t t = ((r[i] >> 8) ^ r[i + 1]) & 0x00ff00ff00ff00ffull;
    r[i] ^= t << 8;
    r[i + 1] ^= t;
  }
}

// One block of n bytes (a multiple of 64): words in[8j..8j+7] become byte columns at k * n/8 + j.
void shuffle_block(const std::byte* in, std::byte* out, size_t n) {
  size_t stride = n / 8;
  for (size_t j = 0; j < stride; j += 8) {
    uint64_t r[8];
    std::memcpy(r, in + 8 * j, sizeof r);
    transpose8x8(r);
    for (int k = 0; k < 8; ++k) {
      std::memcpy(out + k * stride + j, &r[k], 8);
    }
  }
}

void unshuffle_block(const std::byte* in, std::byte* out, size_t n) {
  size_t stride = n / 8;
  for (size_t j = 0; j < stride; j += 8) {
    uint64_t r[8];
    for (int k = 0; k < 8; ++k) {
      std::memcpy(&r[k], in + k * stride + j, 8);
    }
    transpose8x8(r);
    std::memcpy(out + 8 * j, r, sizeof r);
  }
}

}  // namespace

void shuffle8(const std::byte* in, std::byte* out, size_t length) noexcept {
  for (size_t at = 0; at < length; at += kShuffleBlock) {
    size_t n = length - at < kShuffleBlock ? length - at : kShuffleBlock;
    shuffle_block(in + at, out + at, n);
  }
}

void unshuffle8(const std::byte* in, std::byte* out, size_t length) noexcept {
  for (size_t at = 0; at < length; at += kShuffleBlock) {
    size_t n = length - at < kShuffleBlock ? length - at : kShuffleBlock;
    unshuffle_block(in + at, out + at, n);
  }
}

}  // namespace crcore::image
