// Claim: chaos plans decode deterministically from bytes (the op-program reader and
// libFuzzer's provider alike), encode back into bytes that decode to the same plan, and
// the one interpreter of each plan does what it says: a hook plan acts at exactly its
// events, a GC plan steps, collects and switches modes on schedule.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include <luahammer/core/chaos.hpp>
#include <luahammer/core/random_bytes.hpp>

namespace luahammer {
namespace {

TEST(ChaosPlans, DecodeDeterministicallyAndDescribe) {
  std::mt19937_64 rng(9);
  const std::vector<std::uint8_t> bytes = random_bytes(rng, 64);
  FuzzedDataProvider a(bytes.data(), bytes.size());
  FuzzedDataProvider b(bytes.data(), bytes.size());
  EXPECT_EQ(HookPlan::decode(a).describe(), HookPlan::decode(b).describe());
  EXPECT_EQ(GcPlan::decode(a).describe(), GcPlan::decode(b).describe());
  EXPECT_EQ(FailPlan::decode(a).describe(), FailPlan::decode(b).describe());
}

TEST(ChaosPlans, EncodeIsTheInverseOfDecode) {
  std::mt19937_64 rng(10);
  for (int i = 0; i < 2000; ++i) {
    const std::vector<std::uint8_t> bytes = random_bytes(rng, 40);
    ByteReader in(bytes.data(), bytes.size());
    const HookPlan hook = HookPlan::decode(in);
    const GcPlan gc = GcPlan::decode(in);
    const FailPlan fail = FailPlan::decode(in);
    ByteWriter out;
    hook.encode(out);
    gc.encode(out);
    fail.encode(out);
    ByteReader again(out.bytes.data(), out.bytes.size());
    EXPECT_EQ(HookPlan::decode(again).describe(), hook.describe());
    EXPECT_EQ(GcPlan::decode(again).describe(), gc.describe());
    const FailPlan fail_again = FailPlan::decode(again);
    EXPECT_EQ(fail_again.describe(), fail.describe());
    EXPECT_EQ(fail_again.n, fail.n);
    EXPECT_EQ(again.remaining_bytes(), 0u) << "the encoding carries bytes no decoder reads";
  }
}

TEST(ChaosPlans, HookPlanRunActsAtItsEventAndThenEveryKth) {
  HookPlan plan;
  plan.event_number = 3;
  plan.repeat_every = 4;
  HookPlanRun run(plan);
  std::vector<std::uint64_t> acted;
  for (int i = 0; i < 12; ++i) {
    if (run.next_event_acts()) acted.push_back(run.events());
  }
  EXPECT_EQ(acted, (std::vector<std::uint64_t>{3, 7, 11}));
  const HookPlan next = plan.replacement();
  EXPECT_EQ(next.event_number, 1u);
  EXPECT_EQ(next.action, HookPlan::Action::Raise);
}

struct RecordingGc {
  std::vector<std::string> calls;
  void step(int kilobytes) { calls.push_back("step " + std::to_string(kilobytes)); }
  void collect() { calls.push_back("collect"); }
  void set_generational(bool on) { calls.push_back(on ? "generational" : "incremental"); }
};

TEST(ChaosPlans, GcPlanStepsCollectsThenSwitchesModes) {
  GcPlan plan;
  plan.step_kilobytes = 8;
  plan.collect_every = 2;
  plan.switch_modes = true;
  RecordingGc gc;
  for (std::uint64_t op = 1; op <= 4; ++op) plan.between_ops(gc, op);
  EXPECT_EQ(gc.calls, (std::vector<std::string>{"step 8", "step 8", "collect", "incremental", "step 8", "step 8",
                                                "collect", "generational"}));
}

TEST(ChaosPlans, FailPlanArmsTheAllocator) {
  FaultAllocator allocator;
  FailPlan fail;
  fail.mode = FaultAllocator::Mode::FailFromNth;
  fail.n = 1;
  fail.apply(allocator);
  EXPECT_EQ(FaultAllocator::allocate(&allocator, nullptr, 0, 16), nullptr);
  EXPECT_EQ(fail.describe(), "fail every allocation from 1");
}

}  // namespace
}  // namespace luahammer
