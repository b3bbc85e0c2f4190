// region_advice: VmFlags parsing, finding and lifting fork advice, and the advice of captured regions.
#include "runtime/region_advice.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "image/format.h"

namespace crcore::runtime {
namespace {

constexpr size_t kSize = 8 * 4096;

// An anonymous private mapping with a guard page either side, so that advice never merges it with
// a neighbour.
struct Mapping {
  char* base = nullptr;
  char* p = nullptr;
  Mapping() {
    base = static_cast<char*>(mmap(nullptr, kSize + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(base, MAP_FAILED);
    p = base + 4096;
    EXPECT_EQ(mprotect(p, kSize, PROT_READ | PROT_WRITE), 0);
    memset(p, 7, kSize);
  }
  ~Mapping() { munmap(base, kSize + 2 * 4096); }
  uint64_t start() const { return reinterpret_cast<uint64_t>(p); }
  uint64_t end() const { return start() + kSize; }
};

const ForkAdvice* find(const std::vector<ForkAdvice>& list, uint64_t start) {
  for (const ForkAdvice& a : list) {
    if (a.start == start) {
      return &a;
    }
  }
  return nullptr;
}

TEST(RegionAdvice, ParsesVmFlags) {
  const char* line = " rd wr mr mw me ac sd hg dc wf dd mg";
  EXPECT_EQ(advice_from_vmflags(line, strlen(line)), image::kRegionAdvice & ~image::kRegionNoHugePage);
  const char* none = " rd ex mr mw me sd";
  EXPECT_EQ(advice_from_vmflags(none, strlen(none)), 0u);
  const char* nh = "nh";
  EXPECT_EQ(advice_from_vmflags(nh, 2), image::kRegionNoHugePage);
  const char* longer = " hgx dcc";  // not two-letter words
  EXPECT_EQ(advice_from_vmflags(longer, strlen(longer)), 0u);
}

TEST(RegionAdvice, FindsLiftsAndRestoresForkAdvice) {
  Mapping dontfork, wipe, plain;
  ASSERT_EQ(madvise(dontfork.p, kSize, MADV_DONTFORK), 0);
  ASSERT_EQ(madvise(wipe.p, kSize, MADV_WIPEONFORK), 0);
  std::vector<ForkAdvice> list;
  ASSERT_EQ(find_fork_advice(list), 0);
  ASSERT_NE(find(list, dontfork.start()), nullptr);
  EXPECT_EQ(find(list, dontfork.start())->bits, image::kRegionDontFork);
  EXPECT_EQ(find(list, dontfork.start())->end, dontfork.end());
  ASSERT_NE(find(list, wipe.start()), nullptr);
  EXPECT_EQ(find(list, wipe.start())->bits, image::kRegionWipeOnFork);
  EXPECT_EQ(find(list, plain.start()), nullptr);

  char why[256] = "";
  ASSERT_EQ(lift_fork_advice(list.data(), list.size(), why, sizeof why), 0) << why;
  std::vector<ForkAdvice> lifted;
  ASSERT_EQ(find_fork_advice(lifted), 0);
  EXPECT_EQ(find(lifted, dontfork.start()), nullptr);
  EXPECT_EQ(find(lifted, wipe.start()), nullptr);
  restore_fork_advice(list.data(), list.size());
  std::vector<ForkAdvice> again;
  ASSERT_EQ(find_fork_advice(again), 0);
  ASSERT_NE(find(again, dontfork.start()), nullptr);
  ASSERT_NE(find(again, wipe.start()), nullptr);
}

TEST(RegionAdvice, LiftFailsCleanlyWhenAMappingIsGone) {
  Mapping dontfork;
  ASSERT_EQ(madvise(dontfork.p, kSize, MADV_DONTFORK), 0);
  std::vector<ForkAdvice> list;
  ASSERT_EQ(find_fork_advice(list), 0);
  list.push_back({0x1000, 0x2000, image::kRegionDontFork});  // never mapped
  char why[256] = "";
  EXPECT_LT(lift_fork_advice(list.data(), list.size(), why, sizeof why), 0);
  EXPECT_NE(strstr(why, "try again"), nullptr);
  std::vector<ForkAdvice> after;
  ASSERT_EQ(find_fork_advice(after), 0);
  EXPECT_NE(find(after, dontfork.start()), nullptr);  // given back
}

TEST(RegionAdvice, SetsTheAdviceOfCapturedRegions) {
  Mapping huge, plain, dontdump;
  ASSERT_EQ(madvise(huge.p, kSize, MADV_HUGEPAGE), 0);
  ASSERT_EQ(madvise(dontdump.p, kSize, MADV_DONTDUMP), 0);
  std::vector<Mapping*> sorted = {&huge, &plain, &dontdump};
  std::sort(sorted.begin(), sorted.end(), [](Mapping* a, Mapping* b) { return a->p < b->p; });
  CapturedRegion regions[3] = {};
  for (int i = 0; i < 3; ++i) {
    regions[i].record.start = sorted[i]->start();
    regions[i].record.end = sorted[i]->end();
    regions[i].record.kind = static_cast<uint32_t>(image::RegionKind::AnonPrivate);
    regions[i].record.flags = image::kRegionDontFork;  // stale bits are replaced
  }
  CaptureArena arena;
  arena.regions = regions;
  arena.region_capacity = 3;
  MemoryCapture memory;
  memory.region_count = 3;
  char why[256] = "";
  ASSERT_EQ(read_region_advice(arena, memory, nullptr, 0, false, nullptr, why, sizeof why), 0) << why;
  for (int i = 0; i < 3; ++i) {
    uint32_t want = sorted[i] == &huge ? image::kRegionHugePage : sorted[i] == &dontdump ? image::kRegionDontDump : 0u;
    EXPECT_EQ(regions[i].record.flags, want) << i;
  }
  // The same from smaps read by the prefetch thread (the copy-on-write writer's way).
  for (int i = 0; i < 3; ++i) {
    regions[i].record.flags = image::kRegionDontFork;
  }
  {
    SmapsPrefetch prefetch;
    ASSERT_TRUE(prefetch.start());
    SmapsText* text = prefetch.finish();
    ASSERT_NE(text, nullptr);
    EXPECT_NE(strstr(text->data, "VmFlags:"), nullptr);
    ASSERT_EQ(read_region_advice(arena, memory, nullptr, 0, false, text, why, sizeof why), 0) << why;
  }
  for (int i = 0; i < 3; ++i) {
    uint32_t want = sorted[i] == &huge ? image::kRegionHugePage : sorted[i] == &dontdump ? image::kRegionDontDump : 0u;
    EXPECT_EQ(regions[i].record.flags, want) << i;
  }
  // A region that is not mapped at all (the writer's copy lost it): refused, with the reason.
  regions[1].record.start = 0x1000;
  regions[1].record.end = 0x2000;
  std::sort(regions, regions + 3,
            [](const CapturedRegion& a, const CapturedRegion& b) { return a.record.start < b.record.start; });
  EXPECT_EQ(read_region_advice(arena, memory, nullptr, 0, true, nullptr, why, sizeof why), -EAGAIN);
  EXPECT_NE(strstr(why, "MADV_DONTFORK"), nullptr);
}

}  // namespace
}  // namespace crcore::runtime
