// Claim (holds with Lua compiled as C, where errors are longjmp, and as C++, where they
// are exceptions; the asan-lua-cxx preset runs this file against the latter):
// - a host callback's C++ locals are destroyed before its error reaches Lua: every
//   callback runs in a frame that catches everything, and lua_error is raised from a
//   frame with nothing left to destroy;
// - no C++ exception crosses a Lua frame: whatever a callback throws, Lua sees an error;
// - a Lua error raised under a host callback unwinds to it as a cxxlua::Error, so its
//   locals are destroyed too.
// Each test counts live objects (Tracked) and owns heap strings, so LSan reports any
// destructor that a jump skipped.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace cxxlua {
namespace {

using testing::Tracked;

class Unwinding : public ::testing::Test {
 protected:
  void SetUp() override { Tracked::reset(); }
  void TearDown() override { EXPECT_EQ(Tracked::live, 0); }
};

TEST_F(Unwinding, CallbackWithStringLocalsThatRaisesLeaksNothing) {
  State state;
  state.globals().set("raise", state.create_function([](std::string argument) -> int {
    std::string local = "a local string long enough to live on the heap: " + argument;
    Tracked tracked(1);
    throw std::runtime_error(local);
  }));
  MultiValue r = state.exec(R"(
    local failures = 0
    for i = 1, 1000 do
      if not pcall(raise, string.rep("x", 100)) then failures = failures + 1 end
    end
    return failures
  )");
  EXPECT_EQ(from_value<int>(r[0]), 1000);
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(Tracked::destroyed, 1000);
}

TEST_F(Unwinding, ConversionErrorOnTheThirdArgumentLeaksNothing) {
  State state;
  state.globals().set("three", state.create_function([](std::string a, std::string b, int c) {
    return a.size() + b.size() + static_cast<std::size_t>(c);
  }));
  MultiValue r = state.exec(R"(
    local long = string.rep("y", 200)
    local ok, e = pcall(three, long, long, "not an integer")
    return ok, tostring(e)
  )");
  EXPECT_FALSE(from_value<bool>(r[0]));
  EXPECT_NE(from_value<std::string>(r[1]).find("bad argument #3"), std::string::npos);
}

TEST_F(Unwinding, LuaErrorUnderACallbackUnwindsItsLocals) {
  State state;
  state.globals().set("wrap", state.create_function([](Function f) {
    Tracked tracked(2);
    std::string local(100, 'z');
    return f.call_as<int>();  // raises: f errors
  }));
  EXPECT_THROW(state.exec("wrap(function() error('inner') end)"), Error);
  EXPECT_EQ(Tracked::destroyed, 1);
}

TEST_F(Unwinding, NonStandardExceptionBecomesALuaError) {
  State state;
  state.globals().set("odd", state.create_function([]() -> int { throw 42; }));
  MultiValue r = state.exec("local ok, e = pcall(odd) return ok, tostring(e)");
  EXPECT_FALSE(from_value<bool>(r[0]));
  EXPECT_EQ(from_value<std::string>(r[1]), "callback error: unknown C++ exception");
}

TEST_F(Unwinding, ErrorInsideNestedCallbacksPropagatesCleanly) {
  State state;
  state.globals().set("level", state.create_function([](Function next, int depth) {
    Tracked tracked(depth);
    std::string local(64, 'q');
    if (depth == 0) throw std::runtime_error("bottom");
    return next.call_as<int>(next, depth - 1);
  }));
  try {
    state.exec("local f = function(n, d) return level(n, d) end return level(f, 5)");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Callback);
  }
  EXPECT_EQ(Tracked::destroyed, 6);
}

}  // namespace
}  // namespace cxxlua
