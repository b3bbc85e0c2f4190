// The byte shuffle of compressed page records (image/byte_shuffle.h) against its definition.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "image/byte_shuffle.h"

namespace crcore::image::testing {
namespace {

using Bytes = std::vector<std::byte>;

// The definition in docs/image-format.md, byte by byte.
Bytes shuffled_by_definition(const Bytes& in) {
  Bytes out(in.size());
  for (size_t block = 0; block < in.size(); block += kShuffleBlock) {
    size_t n = std::min(kShuffleBlock, in.size() - block);
    size_t words = n / 8;
    for (size_t w = 0; w < words; ++w) {
      for (size_t k = 0; k < 8; ++k) {
        out[block + k * words + w] = in[block + w * 8 + k];
      }
    }
  }
  return out;
}

TEST(ByteShuffle, MatchesTheDefinitionAndUndoes) {
  for (size_t length : {size_t{128}, size_t{4096}, kShuffleBlock, kShuffleBlock + 4096, 3 * kShuffleBlock + 12288}) {
    Bytes in(length);
    uint64_t x = 0x9e3779b97f4a7c15ull ^ length;
    for (std::byte& b : in) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = static_cast<std::byte>(x);
    }
    Bytes out(length);
    shuffle8(in.data(), out.data(), length);
    EXPECT_TRUE(out == shuffled_by_definition(in)) << length;
    Bytes back(length);
    unshuffle8(out.data(), back.data(), length);
    EXPECT_TRUE(back == in) << length;
  }
}

}  // namespace
}  // namespace crcore::image::testing
