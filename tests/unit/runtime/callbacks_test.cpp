// The libcr callback protocol (runtime/callbacks.h): nesting, BLCR's order, what cr_checkpoint()
// returns in each case, refusals, and critical sections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "runtime/callbacks.h"
#include "runtime/critical_sections.h"
#include "runtime/raw_syscall.h"

namespace crcore::runtime {
namespace {

// What happened, in order: "pre:A", "stage", "post:A=0", ...
std::vector<std::string> g_log;
int g_stage_result = 0;

struct Named {
  const char* name;
  int flags_to_pass = CR_CHECKPOINT_READY;
  bool call_checkpoint = true;
  int return_value = 0;
};

int logging_callback(void* arg) {
  auto* n = static_cast<Named*>(arg);
  g_log.push_back(std::string("pre:") + n->name);
  if (n->call_checkpoint) {
    int rc = checkpoint_from_callback(n->flags_to_pass);
    g_log.push_back(std::string("post:") + n->name + "=" + std::to_string(rc));
  }
  return n->return_value;
}

int stage(void*) {
  g_log.push_back("stage");
  return g_stage_result;
}

// The registry is process-wide and has no unregistration but replace(nullptr): each test
// disables what it registered.
struct Registered {
  std::vector<cr_callback_id_t> ids;
  ~Registered() {
    for (auto id : ids) {
      replace_callback(id, nullptr, nullptr, CR_THREAD_CONTEXT);
    }
  }
  void add(Named& n, int flags) {
    cr_callback_id_t id = register_callback(logging_callback, &n, flags);
    ASSERT_GE(id, 0);
    ids.push_back(id);
  }
};

class CallbacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_log.clear();
    g_stage_result = 0;
  }
};

TEST_F(CallbacksTest, NoCallbacksRunsTheStageOnly) {
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 0);
  EXPECT_EQ(g_log, (std::vector<std::string>{"stage"}));
}

TEST_F(CallbacksTest, LastRegisteredIsOutermostAndEveryoneSeesTheStageResult) {
  Named a{"A"}, b{"B"}, c{"C"};
  Registered r;
  r.add(a, CR_THREAD_CONTEXT);
  r.add(b, CR_THREAD_CONTEXT);
  r.add(c, CR_THREAD_CONTEXT);
  g_stage_result = 1;  // "restarted"
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 1);
  EXPECT_EQ(g_log, (std::vector<std::string>{"pre:C", "pre:B", "pre:A", "stage", "post:A=1", "post:B=1", "post:C=1"}));
}

TEST_F(CallbacksTest, IdsCarryTheContextBit) {
  Named a{"A"};
  Registered r;
  cr_callback_id_t id = register_callback(logging_callback, &a, CR_THREAD_CONTEXT);
  r.ids.push_back(id);
  EXPECT_NE(id & CR_THREAD_CONTEXT, 0);
  EXPECT_EQ(replace_callback(id, logging_callback, &a, CR_THREAD_CONTEXT), 0);
  EXPECT_EQ(replace_callback(CR_THREAD_CONTEXT | 100000, logging_callback, &a, CR_THREAD_CONTEXT), -1);
}

TEST_F(CallbacksTest, SignalContextCallbacksBelongToTheirThread) {
  Named mine{"mine"}, other{"other"};
  Registered r;
  r.add(mine, CR_SIGNAL_CONTEXT);
  std::thread t([&] { r.add(other, CR_SIGNAL_CONTEXT); });
  t.join();
  EXPECT_EQ(run_signal_context_chain(stage, nullptr), 0);
  EXPECT_EQ(g_log, (std::vector<std::string>{"pre:mine", "stage", "post:mine=0"}));
  g_log.clear();
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 0);  // neither is a thread-context callback
  EXPECT_EQ(g_log, (std::vector<std::string>{"stage"}));
}

TEST_F(CallbacksTest, ReturningWithoutCheckpointContinuesTheChain) {
  Named a{"A"}, b{"B", CR_CHECKPOINT_READY, false};
  Registered r;
  r.add(a, CR_THREAD_CONTEXT);
  r.add(b, CR_THREAD_CONTEXT);
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 0);
  EXPECT_EQ(g_log, (std::vector<std::string>{"pre:B", "pre:A", "stage", "post:A=0"}));
}

TEST_F(CallbacksTest, TemporaryFailureStopsTheChainBeforeTheStage) {
  Named a{"A"}, b{"B", CR_CHECKPOINT_TEMP_FAILURE};
  Registered r;
  r.add(a, CR_THREAD_CONTEXT);
  r.add(b, CR_THREAD_CONTEXT);
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), -CR_ETEMPFAIL);
  EXPECT_EQ(g_log, (std::vector<std::string>{"pre:B", "post:B=" + std::to_string(-CR_ETEMPFAIL)}));
}

TEST_F(CallbacksTest, OmitAndPermanentFailureHaveTheirCodes) {
  {
    Named a{"A", CR_CHECKPOINT_OMIT};
    Registered r;
    r.add(a, CR_THREAD_CONTEXT);
    EXPECT_EQ(run_thread_context_chain(stage, nullptr), -CR_EOMITTED);
  }
  {
    Named a{"A", CR_CHECKPOINT_PERM_FAILURE};
    Registered r;
    r.add(a, CR_THREAD_CONTEXT);
    EXPECT_EQ(run_thread_context_chain(stage, nullptr), -CR_EPERMFAIL);
  }
}

TEST_F(CallbacksTest, FailingReturnValueIsAPermanentFailure) {
  Named a{"A", CR_CHECKPOINT_READY, false, 3};
  Registered r;
  r.add(a, CR_THREAD_CONTEXT);
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), -CR_EPERMFAIL);
  EXPECT_EQ(g_log, (std::vector<std::string>{"pre:A"}));
}

TEST_F(CallbacksTest, CheckpointOutsideACallbackIsRefused) {
  EXPECT_EQ(checkpoint_from_callback(CR_CHECKPOINT_READY), -CR_ENOTCB);
  EXPECT_FALSE(in_callback_chain());
}

TEST_F(CallbacksTest, SecondCheckpointCallInOneCallbackIsRefused) {
  static int second = 0;
  struct Twice {
    static int cb(void*) {
      checkpoint_from_callback(CR_CHECKPOINT_READY);
      second = checkpoint_from_callback(CR_CHECKPOINT_READY);
      return 0;
    }
  };
  Registered r;
  cr_callback_id_t id = register_callback(Twice::cb, nullptr, CR_THREAD_CONTEXT);
  r.ids.push_back(id);
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 0);
  EXPECT_EQ(second, -CR_ENOTCB);
}

TEST_F(CallbacksTest, ReplaceSelfSwapsTheRunningCallbackForNextTime) {
  static Named replacement{"replacement"};
  struct Swapper {
    static int cb(void*) {
      g_log.push_back("swapper");
      EXPECT_EQ(replace_running_callback(logging_callback, &replacement, CR_THREAD_CONTEXT), 0);
      return checkpoint_from_callback(CR_CHECKPOINT_READY) < 0 ? -1 : 0;
    }
  };
  Registered r;
  r.ids.push_back(register_callback(Swapper::cb, nullptr, CR_THREAD_CONTEXT));
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 0);
  g_log.clear();
  EXPECT_EQ(run_thread_context_chain(stage, nullptr), 0);
  EXPECT_EQ(g_log, (std::vector<std::string>{"pre:replacement", "stage", "post:replacement=0"}));
  EXPECT_EQ(replace_running_callback(logging_callback, nullptr, CR_THREAD_CONTEXT), -1);  // outside a chain
}

TEST(Hooks, RegisteredHookRunsForItsEventOnly) {
  static std::vector<int> seen;
  cr_hook_fn_t hook = [](cr_hook_event_t event) { seen.push_back(event); };
  EXPECT_EQ(register_hook(CR_HOOK_CONT_THREAD_CONTEXT, hook), nullptr);
  run_hook(CR_HOOK_CONT_THREAD_CONTEXT);
  run_hook(CR_HOOK_RSTRT_THREAD_CONTEXT);
  EXPECT_EQ(seen, (std::vector<int>{CR_HOOK_CONT_THREAD_CONTEXT}));
  EXPECT_EQ(register_hook(CR_HOOK_CONT_THREAD_CONTEXT, nullptr), hook);
}

TEST(CriticalSections, CheckpointWaitsForTheSectionAndBlocksNewOnes) {
  ASSERT_EQ(enter_critical_section(true), 0);
  std::atomic<bool> blocked{false};
  std::thread manager([&] {
    blocked = block_critical_sections(0);  // waits until the section is left
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(blocked.load());
  EXPECT_EQ(enter_critical_section(true), 0);  // nested: passes through
  leave_critical_section();
  leave_critical_section();
  manager.join();
  EXPECT_TRUE(blocked.load());
  EXPECT_TRUE(checkpoint_pending());
  std::thread other([] { EXPECT_EQ(enter_critical_section(false), 1); });  // would block
  other.join();
  unblock_critical_sections();
  EXPECT_EQ(enter_critical_section(false), 0);
  leave_critical_section();
}

TEST(CriticalSections, TimeoutGivesUpAndUnblocks) {
  ASSERT_EQ(enter_critical_section(true), 0);
  bool ok = true;
  std::thread manager([&] { ok = block_critical_sections(monotonic_ns() + 20000000ull); });
  manager.join();
  EXPECT_FALSE(ok);
  EXPECT_FALSE(checkpoint_pending());
  leave_critical_section();
}

}  // namespace
}  // namespace crcore::runtime
