// The byte shuffle of compressed page records (kRecordShuffle8, docs/image-format.md): byte k of
// every 8-byte word of a block goes to the k-th eighth of the block. Numeric arrays (doubles, 64-bit
// integers, pointers) keep their sign, exponent and high bytes nearly constant along an array, so
// after the shuffle zstd finds long runs where it found none before: on the benchmark's smooth
// doubles zstd -1 keeps 37% of the bytes instead of 80%, and runs faster (HDF5's and Blosc's shuffle
// filter do the same for scientific data).
//
// A record is shuffled in blocks of kShuffleBlock bytes (the last one shorter), so that a reader
// can undo it while it streams the record, one block at a time.
//
// ASYNC-SIGNAL-SAFE: pure computation on the caller's buffers.
#pragma once

#include <cstddef>

namespace crcore::image {

inline constexpr size_t kShuffleBlock = 64u << 10;

// out = the shuffle of in[0, length), block by block. length: a multiple of 128 (page records are
// whole pages). in and out must not overlap.
void shuffle8(const std::byte* in, std::byte* out, size_t length) noexcept;
// Undoes shuffle8 of the same length.
void unshuffle8(const std::byte* in, std::byte* out, size_t length) noexcept;

}  // namespace crcore::image
