// Claim: fuzzed Lua cannot escape the instruction budget. Each input below once ran into
// libFuzzer's 20 s timeout; each now ends with a clean error naming its bound, through the
// lua_source target's own path (sandboxed state, load, call, ledgers checked at close).
// The InputGuard around each is the backstop: an input that escaped would abort the test
// with "luahammer: budget escape".
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <luahammer/core/input_guard.hpp>
#include <luahammer/opvm/vm_host.hpp>

namespace luahammer {
namespace {

// Runs `source` as the lua_source target does; returns the error message, "" on success.
std::string run_input(const std::string& source) {
  const InputGuard guard(std::chrono::seconds(5));
  VmState vm = make_vm_state(false, 16 * 1024 * 1024, 200000);
  std::string outcome;
  try {
    cxxlua::Function chunk = vm.state->load(source, "=input");
    reset_budget(vm);
    (void)chunk.call();
  } catch (const cxxlua::Error& error) {
    outcome = error.what();
  }
  check_and_close(vm, "running the input");
  return outcome;
}

bool mentions(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

TEST(Budget, APcallLoopCannotCatchItsWayPastTheBudget) {
  EXPECT_PRED2(mentions, run_input("while true do pcall(function() while true do end end) end"),
               "instruction budget exhausted");
}

TEST(Budget, ACoroutineResumeLoopCannotCatchItsWayPastTheBudget) {
  EXPECT_PRED2(mentions,
               run_input("while true do coroutine.resume(coroutine.create(function() while true do end end)) end"),
               "instruction budget exhausted");
}

TEST(Budget, AnEndlessFinalizerIsBoundedWhenCollected) {
  // The finalizer spends the call's budget (its error becomes a warning); the call's next
  // instruction finds it spent.
  EXPECT_PRED2(mentions, run_input("setmetatable({}, {__gc = function() while true do end end}) collectgarbage()"),
               "instruction budget exhausted");
}

TEST(Budget, AnEndlessFinalizerIsBoundedAtClose) {
  EXPECT_EQ(run_input("keep = setmetatable({}, {__gc = function() while true do end end})"), "");
}

TEST(Budget, AFinalizerAllocatingWithoutEndAtCloseStopsAtTheMemoryCap) {
  EXPECT_EQ(run_input("keep = setmetatable({}, {__gc = function() local t = {} "
                      "for i = 1, math.maxinteger do t[i] = string.rep('x', 4096) .. i end end})"),
            "");
}

TEST(Budget, ABacktrackingPatternIsRefused) {
  EXPECT_PRED2(mentions, run_input("local s = string.rep('a', 40) return s:find(string.rep('a*', 40) .. 'b')"),
               "pattern too costly");
}

TEST(Budget, HugeTableMovesAreRefused) {
  EXPECT_PRED2(mentions, run_input("return table.move({}, 1, 1e9, 2)"), "table.move");
  EXPECT_PRED2(mentions, run_input("return table.move({}, 1, 3e9, 2)"), "table.move");
}

TEST(Budget, AllocationChurnIsBounded) {
  // Growth past the call's allowance is refused: a memory error, then the spent budget.
  const std::string outcome = run_input("for i = 1, 2000 do local s = string.rep('q', 1024 * 1024) end");
  EXPECT_TRUE(mentions(outcome, "not enough memory") || mentions(outcome, "instruction budget exhausted")) << outcome;
  EXPECT_PRED2(mentions, run_input("for i = 1, 2000 do pcall(string.rep, 'q', 1024 * 1024) end"),
               "instruction budget exhausted");
}

TEST(Budget, ABudgetResetLetsTheNextCallRun) {
  VmState vm = make_vm_state(false, 16 * 1024 * 1024, 200000);
  EXPECT_THROW((void)vm.state->load("while true do pcall(function() while true do end end) end").call(), cxxlua::Error);
  reset_budget(vm);
  EXPECT_EQ(vm.state->load("local n = 0 for i = 1, 1000 do n = n + i end return n").call_as<int>(), 500500);
  check_and_close(vm, "the test");
}

TEST(BudgetDeathTest, TheGuardEndsWorkNoBoundReaches) {
  // A fresh process: the guard's watcher thread, once started, does not survive a fork.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        const InputGuard guard(std::chrono::milliseconds(200));
        volatile unsigned long spin = 0;
        for (;;) spin = spin + 1;
      },
      "luahammer: budget escape: input ran past 0.2 s of CPU time");
}

TEST(BudgetDeathTest, TheGuardStaysQuietOnQuickInputs) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run_input("return 1"), "");
}

}  // namespace
}  // namespace luahammer
