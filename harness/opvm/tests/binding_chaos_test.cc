// Claim: the chaos plans carried out through cxxlua do what they say: a hook plan acts at
// exactly its event number (raise, yield, remove), a GC plan collects on schedule.
#include <gtest/gtest.h>

#include <luahammer/opvm/binding_chaos.hpp>

namespace luahammer {
namespace {

TEST(BindingChaos, HookPlanRaisesAtExactlyItsEvent) {
  cxxlua::State state;
  state.exec("calls = 0");
  cxxlua::Function body = state.load("local function f() calls = calls + 1 end for i = 1, 10 do f() end");
  HookPlan plan;
  plan.triggers.on_calls = true;
  plan.event_number = 5;
  plan.action = HookPlan::Action::Raise;
  std::uint64_t seen = 0;
  auto act = hook_callback(plan);
  // Count events alongside the plan: the raise must come on the fifth, not before or after.
  state.set_hook(binding_triggers(plan.triggers), [&](cxxlua::StateHandle& s, const cxxlua::HookEvent& e) {
    ++seen;
    return act(s, e);
  });
  try {
    (void)body.call();
    FAIL() << "the plan did not raise";
  } catch (const cxxlua::Error& e) {
    EXPECT_NE(std::string(e.what()).find("hook plan: raise at event 5"), std::string::npos) << e.what();
  }
  state.remove_hook();
  EXPECT_EQ(seen, 5u);
  EXPECT_LT(state.load("return calls").call_as<int>(), 10);
}

TEST(BindingChaos, HookPlanYieldsACoroutineAndRemovesItself) {
  cxxlua::State state;
  HookPlan yield;
  yield.triggers.every_nth_instruction = 5;
  yield.event_number = 1;
  yield.repeat_every = 1;
  yield.action = HookPlan::Action::Yield;
  cxxlua::Thread co = state.create_thread(state.load("local s = 0 for i = 1, 50 do s = s + i end return s"));
  set_hook_plan(co, yield);
  int resumes = 0;
  cxxlua::MultiValue results;
  while (co.status() == cxxlua::ThreadStatus::Resumable) {
    results = co.resume();
    ++resumes;
  }
  EXPECT_GT(resumes, 10);
  EXPECT_EQ(cxxlua::from_value<int>(results[0]), 1275);
  co.remove_hook();

  HookPlan remove;
  remove.triggers.on_calls = true;
  remove.event_number = 2;
  remove.action = HookPlan::Action::RemoveHook;
  set_hook_plan(state, remove);
  state.exec("local function f() end for i = 1, 5 do f() end");  // the hook removes itself
  state.exec("local function f() end for i = 1, 5 do f() end");  // and nothing fires any more
}

TEST(BindingChaos, GcPlanCollectsOnSchedule) {
  cxxlua::State state;
  GcPlan gc;
  gc.collect_every = 2;
  state.exec("junk = {} for i = 1, 2000 do junk[i] = {} end junk = nil");
  const auto before = state.used_memory();
  gc_between_ops(gc, state, 1);
  EXPECT_EQ(state.used_memory(), before) << "op 1: no collection planned";
  gc_between_ops(gc, state, 2);
  EXPECT_LT(state.used_memory(), before) << "op 2: a full collection";
}

}  // namespace
}  // namespace luahammer
