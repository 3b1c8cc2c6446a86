// Claim: a State opens exactly the libraries asked for, enforces its memory limit with a
// clean Memory error after which it stays usable, runs on an injected allocator, loads
// text only unless told otherwise, exposes GC control, and detects use from a second
// thread when it is not thread-safe.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "test_support.hpp"

namespace cxxlua {
namespace {

TEST(States, OpensOnlyTheRequestedLibraries) {
  State safe;
  EXPECT_TRUE(safe.load("return io == nil and os == nil and package == nil and debug == nil").call_as<bool>());
  EXPECT_TRUE(safe.load("return string ~= nil and table ~= nil and coroutine ~= nil").call_as<bool>());
  StateOptions all;
  all.libraries = library::All;
  State full(all);
  EXPECT_TRUE(full.load("return io ~= nil and os ~= nil and debug ~= nil").call_as<bool>());
}

TEST(States, MemoryLimitGivesACleanErrorAndTheStateStaysUsable) {
  StateOptions options;
  options.memory_limit = 512 * 1024;
  State state(options);
  EXPECT_GT(state.used_memory(), 0u);
  try {
    state.exec("local t = {} for i = 1, 1e7 do t[i] = string.rep('x', 64) .. i end");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Memory);
  }
  state.collect_garbage();
  EXPECT_LE(state.used_memory(), options.memory_limit);
  EXPECT_EQ(state.load("return 1 + 1").call_as<int>(), 2);
}

TEST(States, RunsOnTheInjectedAllocator) {
  testing::FailingAllocator allocator;
  allocator.arm(1);  // the very first allocation fails: lua_newstate itself
  EXPECT_THROW(State state(allocator.options()), Error);
  allocator.disarm();
  State state(allocator.options());
  EXPECT_EQ(state.load("return 'ok'").call_as<std::string>(), "ok");
}

TEST(States, LoadIsTextOnlyByDefault) {
  State state;
  std::string binary = state.load("return string.dump(function() return 1 end)").call_as<std::string>();
  try {
    (void)state.load(binary);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Syntax);
    EXPECT_NE(e.message().find("binary"), std::string::npos);
  }
  EXPECT_EQ(state.load(binary, "=bin", "b").call_as<int>(), 1);
}

TEST(States, SyntaxErrorsAreSyntaxErrors) {
  State state;
  try {
    (void)state.load("return +", "=broken");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Syntax);
    EXPECT_NE(e.message().find("broken:1:"), std::string::npos);
  }
}

TEST(States, GarbageCollectorControl) {
  State state;
  state.exec("garbage = {} for i = 1, 1000 do garbage[i] = {} end garbage = nil");
  const auto before = state.used_memory();
  state.collect_garbage();
  EXPECT_LT(state.used_memory(), before);
  state.set_gc_generational();
  state.exec("for i = 1, 1000 do local t = {} end");
  state.set_gc_incremental(100, 200, 10);
  while (!state.gc_step(1)) {
  }
}

// Lua gives no finalizer to an object created while lua_close runs the last finalizers
// (GCSTPCLS), so an error box made then would be freed without its __gc (finding #8).
TEST(States, AHostErrorRaisedWhileClosingLeavesNoObjectWithoutAFinalizer) {
  State state;
  state.globals().set("fail", state.create_function([]() -> int { throw std::runtime_error("refused"); }));
  state.exec("kept = setmetatable({}, {__gc = function() local ok, e = pcall(fail) closing_error = e fail() end})");
  state.close();
  EXPECT_EQ(testing::finalizers_skipped_by_lua(state), 0u);
}

TEST(StatesDeathTest, NonThreadSafeStateUsedFromAnotherThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        State state;
        std::thread other([&] { (void)state.create_table(); });
        other.join();
      },
      "used from a second thread");
}

}  // namespace
}  // namespace cxxlua
