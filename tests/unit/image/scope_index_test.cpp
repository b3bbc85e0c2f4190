// The scope index (image/scope_index.h): its text round-trips, and every malformed index is
// refused with a message naming the line.
#include "image/scope_index.h"

#include <gtest/gtest.h>

#include <string>

#include "image/image_error.h"

namespace crcore::image {
namespace {

ScopeIndex sample() {
  ScopeIndex index;
  index.kind = ScopeKind::Pgid;
  index.id = 100;
  index.created_ns = 1234567890123ull;
  index.entries.push_back({100, 1, 100, 50, false, 0, "ctx.100"});
  index.entries.push_back({101, 100, 100, 50, false, 0, "ctx.101"});
  index.entries.push_back({102, 101, 100, 50, true, 0x0f00, ""});
  return index;
}

std::string error_of(const std::string& text) {
  try {
    parse_scope_index(text, "idx");
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

TEST(ScopeIndex, RoundTrip) {
  ScopeIndex in = sample();
  std::string text = format_scope_index(in);
  ScopeIndex out = parse_scope_index(text, "idx");
  EXPECT_EQ(out.kind, ScopeKind::Pgid);
  EXPECT_EQ(out.id, 100);
  EXPECT_EQ(out.created_ns, in.created_ns);
  ASSERT_EQ(out.entries.size(), 3u);
  EXPECT_EQ(out.entries[1].ppid, 100);
  EXPECT_EQ(out.entries[1].image, "ctx.101");
  EXPECT_TRUE(out.entries[2].zombie);
  EXPECT_EQ(out.entries[2].exit_status, 0x0f00);
  EXPECT_EQ(format_scope_index(out), text);
}

TEST(ScopeIndex, ImagePathIsBesideTheIndex) {
  ScopeEntry e;
  e.image = "ctx.7";
  EXPECT_EQ(scope_image_path("/a/b/ctx", e), "/a/b/ctx.7");
  EXPECT_EQ(scope_image_path("ctx", e), "ctx.7");
}

TEST(ScopeIndex, RefusesMalformedIndexes) {
  std::string good = format_scope_index(sample());
  // Every truncation before the end line is refused.
  for (size_t cut = 0; cut + 1 < good.size(); cut = good.find('\n', cut + 1)) {
    if (good.compare(cut, 5, "\nend ") == 0) {
      break;
    }
    EXPECT_NE(error_of(good.substr(0, cut + 1)), "") << "cut at " << cut;
  }
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return error_of(text);
  };
  EXPECT_NE(with("crcore-scope 1", "crcore-scope 2").find("version 2 is not supported"), std::string::npos);
  EXPECT_NE(with("scope pgid", "scope forest").find("unknown scope"), std::string::npos);
  EXPECT_NE(with("end 3", "end 4").find("does not count"), std::string::npos);
  EXPECT_NE(with("process 101", "process 100").find("listed twice"), std::string::npos);
  EXPECT_NE(with("zombie 102 101", "zombie 102 999").find("no live parent"), std::string::npos);
  EXPECT_NE(with("ctx.101", "../ctx.101").find("file name beside the index"), std::string::npos);
  EXPECT_NE(with("process 101 100", "process -1 100").find("line 5"), std::string::npos);
  EXPECT_NE(error_of(good + "process 1 0 0 0 x\n").find("after the end line"), std::string::npos);
}

// Findings of tests/fuzz/scope_index_fuzz (docs/reliability.md, "Fuzzing"): each input must be refused
// with ImageError naming the line.
TEST(ScopeIndexFuzzRegressions, ACreationTimeOver64BitsIsRefused) {
  // A 20-digit time over 2^64 made std::stoull throw std::out_of_range out of the parser (found after
  // 999 executions, from the real index of a cr_checkpoint --tree).
  std::string good = format_scope_index(sample());
  auto with_created = [&](const std::string& value) {
    std::string text = good;
    text.replace(text.find("1234567890123"), 13, value);
    return text;
  };
  EXPECT_NE(error_of(with_created("21795635151380158228")).find("line 3: expected 'created NANOSECONDS'"),
            std::string::npos);
  EXPECT_NE(error_of(with_created("18446744073709551616")).find("line 3"), std::string::npos);
  EXPECT_EQ(parse_scope_index(with_created("18446744073709551615"), "idx").created_ns, 18446744073709551615ull);
}

}  // namespace
}  // namespace crcore::image
