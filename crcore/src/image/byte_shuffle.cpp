// Byte shuffle (byte_shuffle.h). ASYNC-SIGNAL-SAFE: pure computation.
//
// A block is a matrix of 8-byte words (rows) by byte positions (columns); shuffling transposes it.
// Both directions work on 16 words (128 bytes) at a time with SSE2 (every x86-64 CPU has it), as
// cascades of byte/16-bit/32-bit/64-bit unpacks: each unpack stage pairs elements whose word index
// differs in one bit, so after the last stage every 16-byte register holds one whole column of the
// 16 words (shuffle) or two whole words (unshuffle).
#include "image/byte_shuffle.h"

#include <emmintrin.h>

#include <cstdint>

namespace crcore::image {
namespace {

inline __m128i load(const std::byte* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i load8(const std::byte* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }
inline void store(std::byte* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }

// Words in[0..15] -> byte k of each, in word order, at out + k * stride.
inline void shuffle16(const std::byte* in, std::byte* out, size_t stride) {
  // v[i] = word i | word i+8, so that the byte unpack pairs words whose index differs in bit 0.
  __m128i v[8], a[8];
  for (int i = 0; i < 8; ++i) {
    v[i] = _mm_unpacklo_epi64(load8(in + 8 * i), load8(in + 8 * (i + 8)));
  }
  // a[2p]: bytes k = 0..7 of words 2p, 2p+1 (as pairs); a[2p+1]: the same of words 2p+8, 2p+9.
  for (int p = 0; p < 4; ++p) {
    a[2 * p] = _mm_unpacklo_epi8(v[2 * p], v[2 * p + 1]);
    a[2 * p + 1] = _mm_unpackhi_epi8(v[2 * p], v[2 * p + 1]);
  }
  // Words 0-3 (a[0], a[2]), 4-7 (a[4], a[6]), 8-11 (a[1], a[3]), 12-15 (a[5], a[7]): 4-byte groups
  // of bytes k = 0..3 (lo) and 4..7 (hi).
  v[0] = _mm_unpacklo_epi16(a[0], a[2]);
  v[1] = _mm_unpackhi_epi16(a[0], a[2]);
  v[2] = _mm_unpacklo_epi16(a[4], a[6]);
  v[3] = _mm_unpackhi_epi16(a[4], a[6]);
  v[4] = _mm_unpacklo_epi16(a[1], a[3]);
  v[5] = _mm_unpackhi_epi16(a[1], a[3]);
  v[6] = _mm_unpacklo_epi16(a[5], a[7]);
  v[7] = _mm_unpackhi_epi16(a[5], a[7]);
  // Words 0-7 (v[0..3]) and 8-15 (v[4..7]): 8-byte groups, two byte positions a register.
  a[0] = _mm_unpacklo_epi32(v[0], v[2]);  // k 0, 1 of words 0-7
  a[1] = _mm_unpackhi_epi32(v[0], v[2]);  // k 2, 3
  a[2] = _mm_unpacklo_epi32(v[1], v[3]);  // k 4, 5
  a[3] = _mm_unpackhi_epi32(v[1], v[3]);  // k 6, 7
  a[4] = _mm_unpacklo_epi32(v[4], v[6]);  // the same of words 8-15
  a[5] = _mm_unpackhi_epi32(v[4], v[6]);
  a[6] = _mm_unpacklo_epi32(v[5], v[7]);
  a[7] = _mm_unpackhi_epi32(v[5], v[7]);
  for (int q = 0; q < 4; ++q) {
    store(out + (2 * q) * stride, _mm_unpacklo_epi64(a[q], a[q + 4]));
    store(out + (2 * q + 1) * stride, _mm_unpackhi_epi64(a[q], a[q + 4]));
  }
}

// The inverse: byte k of words 0..15 at in + k * stride -> the 16 words at out.
inline void unshuffle16(const std::byte* in, std::byte* out, size_t stride) {
  __m128i r[8], p[8], q[8];
  for (int k = 0; k < 8; ++k) {
    r[k] = load(in + k * stride);
  }
  // p[2m]: bytes k = 2m, 2m+1 of words 0-7 (as pairs); p[2m+1]: the same of words 8-15.
  for (int m = 0; m < 4; ++m) {
    p[2 * m] = _mm_unpacklo_epi8(r[2 * m], r[2 * m + 1]);
    p[2 * m + 1] = _mm_unpackhi_epi8(r[2 * m], r[2 * m + 1]);
  }
  q[0] = _mm_unpacklo_epi16(p[0], p[2]);  // words 0-3, bytes 0-3
  q[1] = _mm_unpackhi_epi16(p[0], p[2]);  // words 4-7, bytes 0-3
  q[2] = _mm_unpacklo_epi16(p[4], p[6]);  // words 0-3, bytes 4-7
  q[3] = _mm_unpackhi_epi16(p[4], p[6]);  // words 4-7, bytes 4-7
  q[4] = _mm_unpacklo_epi16(p[1], p[3]);  // the same of words 8-15
  q[5] = _mm_unpackhi_epi16(p[1], p[3]);
  q[6] = _mm_unpacklo_epi16(p[5], p[7]);
  q[7] = _mm_unpackhi_epi16(p[5], p[7]);
  for (int h = 0; h < 2; ++h) {  // words 0-7, then 8-15: two whole words a register
    std::byte* o = out + 64 * h;
    store(o, _mm_unpacklo_epi32(q[4 * h], q[4 * h + 2]));
    store(o + 16, _mm_unpackhi_epi32(q[4 * h], q[4 * h + 2]));
    store(o + 32, _mm_unpacklo_epi32(q[4 * h + 1], q[4 * h + 3]));
    store(o + 48, _mm_unpackhi_epi32(q[4 * h + 1], q[4 * h + 3]));
  }
}

}  // namespace

void shuffle8(const std::byte* in, std::byte* out, size_t length) noexcept {
  for (size_t at = 0; at < length; at += kShuffleBlock) {
    size_t n = length - at < kShuffleBlock ? length - at : kShuffleBlock;
    size_t stride = n / 8;
    for (size_t w = 0; w < stride; w += 16) {
      shuffle16(in + at + 8 * w, out + at + w, stride);
    }
  }
}

void unshuffle8(const std::byte* in, std::byte* out, size_t length) noexcept {
  for (size_t at = 0; at < length; at += kShuffleBlock) {
    size_t n = length - at < kShuffleBlock ? length - at : kShuffleBlock;
    size_t stride = n / 8;
    for (size_t w = 0; w < stride; w += 16) {
      unshuffle16(in + at + w, out + at + 8 * w, stride);
    }
  }
}

}  // namespace crcore::image
