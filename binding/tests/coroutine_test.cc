// Claim: coroutines can be created from functions, resumed with arguments, yielded from
// Lua and from host functions, queried, closed and reset; resuming a running, normal or
// dead coroutine, or the current one from a host handle (mlua #416), is a clean error.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cxxlua {
namespace {

TEST(Coroutines, ResumeWithArgumentsAndYieldFromLua) {
  State state;
  Thread co = state.create_thread(state.load("local a, b = ... local c = coroutine.yield(a + b) return c * 2"));
  EXPECT_EQ(co.status(), ThreadStatus::Resumable);
  EXPECT_EQ(from_value<int>(co.resume(1, 2)[0]), 3);
  EXPECT_EQ(co.status(), ThreadStatus::Resumable);
  EXPECT_EQ(from_value<int>(co.resume(21)[0]), 42);
  EXPECT_EQ(co.status(), ThreadStatus::Finished);
  try {
    (void)co.resume();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Coroutine);
    EXPECT_EQ(e.message(), "cannot resume dead coroutine");
  }
}

TEST(Coroutines, YieldFromAHostFunction) {
  State state;
  state.globals().set("pause", state.create_function([](int x) { return Yield{MultiValue{Value(x * 10)}}; }));
  Thread co = state.create_thread(state.load("local got = pause(4) return got + 1"));
  MultiValue first = co.resume();
  EXPECT_EQ(from_value<int>(first[0]), 40);
  MultiValue second = co.resume(100);  // becomes pause()'s result
  EXPECT_EQ(from_value<int>(second[0]), 101);
}

TEST(Coroutines, YieldFromHostFunctionOutsideACoroutineIsAnError) {
  State state;
  state.globals().set("pause", state.create_function([] { return Yield{}; }));
  EXPECT_THROW(state.exec("pause()"), Error);
  EXPECT_EQ(state.load("return 1").call_as<int>(), 1);
}

// mlua #416: the host resumes the coroutine that is running it.
TEST(Coroutines, ResumingTheRunningCoroutineIsACleanError) {
  State state;
  std::string message;
  state.globals().set("resume_me", state.create_function([&](Thread self) {
    try {
      (void)self.resume();
    } catch (const Error& e) {
      message = e.message();
    }
    return self.status() == ThreadStatus::Running;
  }));
  Thread co = state.create_thread(state.load("return resume_me(coroutine.running())"));
  EXPECT_TRUE(from_value<bool>(co.resume()[0]));
  EXPECT_EQ(message, "cannot resume the running coroutine");
}

TEST(Coroutines, ResumingANormalCoroutineIsACleanError) {
  State state;
  std::string message;
  state.globals().set("resume_outer", state.create_function([&](Thread outer) {
    try {
      (void)outer.resume();
    } catch (const Error& e) {
      message = e.message();
    }
    return outer.status() == ThreadStatus::Normal;
  }));
  Thread co = state.create_thread(state.load(R"(
    local outer = coroutine.running()
    local inner = coroutine.create(function() return resume_outer(outer) end)
    local ok, normal = coroutine.resume(inner)
    return ok, normal
  )"));
  MultiValue r = co.resume();
  EXPECT_TRUE(from_value<bool>(r[0]));
  EXPECT_TRUE(from_value<bool>(r[1]));
  EXPECT_EQ(message, "cannot resume non-suspended coroutine");
}

TEST(Coroutines, ErrorInsideACoroutine) {
  State state;
  Thread co = state.create_thread(state.load("error('inside')", "=co"));
  try {
    (void)co.resume();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_EQ(e.message(), "co:1: inside");
  }
  EXPECT_EQ(co.status(), ThreadStatus::Error);
  co.close();  // closing a coroutine that died of an error is fine
  EXPECT_EQ(co.status(), ThreadStatus::Finished);
}

TEST(Coroutines, CloseRunsPendingCloseMethodsAndResetGivesANewBody) {
  State state;
  state.exec("closed = 0");
  Thread co = state.create_thread(state.load(R"(
    local guard <close> = setmetatable({}, {__close = function() closed = closed + 1 end})
    coroutine.yield(1)
    return 2
  )"));
  (void)co.resume();
  co.close();
  EXPECT_EQ(state.load("return closed").call_as<int>(), 1);
  EXPECT_EQ(co.status(), ThreadStatus::Finished);
  co.reset(state.load("return 'again'"));
  EXPECT_EQ(from_value<std::string>(co.resume()[0]), "again");
}

TEST(Coroutines, CoroutineWrapAndResumeStillBehaveAsInLua) {
  State state;
  MultiValue r = state.exec(R"(
    local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    local a, b, c = gen(), gen(), gen()
    local co = coroutine.create(function(x) error({code = x}) end)
    local ok, err = coroutine.resume(co, 7)
    local dead_ok, dead_msg = coroutine.resume(co)
    local w = coroutine.wrap(function() error("wrapped") end)
    local wok, werr = pcall(w)
    return a + b + c, ok, err.code, dead_ok, dead_msg, wok, werr
  )");
  EXPECT_EQ(from_value<int>(r[0]), 6);
  EXPECT_FALSE(from_value<bool>(r[1]));
  EXPECT_EQ(from_value<int>(r[2]), 7);
  EXPECT_FALSE(from_value<bool>(r[3]));
  EXPECT_EQ(from_value<std::string>(r[4]), "cannot resume dead coroutine");
  EXPECT_FALSE(from_value<bool>(r[5]));
  EXPECT_NE(from_value<std::string>(r[6]).find("wrapped"), std::string::npos);
}

}  // namespace
}  // namespace cxxlua

namespace cxxlua {
namespace {

// Found by the op-program VM: a coroutine that dies leaves no free stack slot
// (ci->top == top), so inspecting its error object there (an error box is a userdata
// with a metatable) pushed past the stack and tripped Lua's API check.
TEST(Coroutines, ErrorFromAHostFunctionKillingACoroutineIsReadSafely) {
  State state;
  state.globals().set("boom", state.create_function([]() -> int { throw std::runtime_error("from host"); }));
  Thread co = state.create_thread(state.load("local a, b, c = 1, 2, 3 return boom()"));
  try {
    (void)co.resume();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Callback);
    EXPECT_EQ(e.message(), "from host");
  }
  co.close();
  EXPECT_EQ(co.status(), ThreadStatus::Finished);
}

}  // namespace
}  // namespace cxxlua
