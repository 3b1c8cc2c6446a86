// Claim: every public entry point leaves the Lua stack exactly as it found it, on success
// and on every error path, and the checking StackGuard reports the exact imbalance when
// that is broken. Entry points abort on imbalance by default, so every other test in this
// suite checks balance too; here we check the guard itself and the state at rest.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cxxlua {
namespace {

using internal::StackGuard;
using internal::StackPolicy;
using testing::ImbalanceCapture;
using testing::main_top;

TEST(StackGuard, ReportsExactCountOfLeakedValues) {
  State state;
  lua_State* L = testing::main_thread(state);
  ImbalanceCapture capture;
  {
    StackGuard guard(L, "DeliberateLeak");
    lua_pushinteger(L, 1);
    lua_pushinteger(L, 2);
  }
  ASSERT_EQ(ImbalanceCapture::reports().size(), 1u);
  EXPECT_EQ(ImbalanceCapture::reports()[0], "stack imbalance in DeliberateLeak: 2 values leaked");
  lua_settop(L, 0);
}

TEST(StackGuard, ReportsValuesPoppedBelowTheExpectedTop) {
  State state;
  lua_State* L = testing::main_thread(state);
  ImbalanceCapture capture;
  {
    // Expects one result (+1), as a type-registration guard would; the path leaves none.
    StackGuard guard(L, "ExpectsOneResult", StackPolicy::Checking, 1);
  }
  ASSERT_EQ(ImbalanceCapture::reports().size(), 1u);
  EXPECT_EQ(ImbalanceCapture::reports()[0], "stack imbalance in ExpectsOneResult: 1 value too many popped");
}

TEST(StackGuard, RestoringPolicyResetsTheTopSilently) {
  State state;
  lua_State* L = testing::main_thread(state);
  ImbalanceCapture capture;
  {
    StackGuard guard(L, "Restoring", StackPolicy::Restoring);
    lua_pushinteger(L, 1);
  }
  EXPECT_TRUE(ImbalanceCapture::reports().empty());
  EXPECT_EQ(lua_gettop(L), 0);
}

TEST(StackGuardDeathTest, DefaultHandlerAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        State state;
        StackGuard guard(testing::main_thread(state), "Leaky");
        lua_pushnil(testing::main_thread(state));
      },
      "cxxlua: stack imbalance in Leaky: 1 value leaked");
}

TEST(StackBalance, MainThreadIsEmptyAtRestAfterEveryKindOfCall) {
  State state;
  ImbalanceCapture capture;
  auto t = state.create_table();
  t.set("a", 1);
  (void)t.get<int>("a");
  (void)t.raw_get("a");
  t.raw_set(1, "x");
  (void)t.len();
  (void)t.pairs();
  (void)t.metatable();
  auto f = state.load("return ...");
  (void)f.call(1, "two", 3.0);
  EXPECT_THROW(state.load("return +"), Error);
  EXPECT_THROW(state.exec("error('boom')"), Error);
  EXPECT_THROW(state.exec("local t = setmetatable({}, {__index = function() error('idx') end}) return t.x"), Error);
  auto host = state.create_function([](int a, int b) { return a + b; });
  EXPECT_THROW(host.call("not a number", 2), Error);
  EXPECT_EQ(host.call_as<int>(2, 3), 5);
  state.collect_garbage();
  EXPECT_TRUE(ImbalanceCapture::reports().empty());
  EXPECT_EQ(main_top(state), 0);
}

TEST(StackBalance, HundredThousandCallsLeaveNothingBehind) {
  State state;
  auto f = state.load("local a, b = ... return a");
  auto host = state.create_function([](lua_Integer x) { return x + 1; });
  auto t = state.create_table();
  for (int i = 0; i < 100000; ++i) {
    (void)f.call(i, "b");
    (void)host.call(i);
    t.set(i % 16, i);
  }
  EXPECT_EQ(main_top(state), 0);
}

}  // namespace
}  // namespace cxxlua
