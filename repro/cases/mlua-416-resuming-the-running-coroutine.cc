// mlua #416 (canary resume_running). Originally: the host resumed or reset the coroutine
// that was running it, from a host handle. C++ analog: closing (resetting) the running
// coroutine without checking. Resuming or closing coroutine.running() from a host
// function must be a clean error; with the canary, Lua resets a running thread and its
// internal assertions or ASan stop the process.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua416, ResumingTheRunningCoroutine) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  cxxlua::MultiValue r = state.exec(R"(
    local co = coroutine.wrap(function()
      local closed, close_error = pcall(host.close, coroutine.running())
      return closed, tostring(close_error)
    end)
    return co()
  )");
  EXPECT_FALSE(cxxlua::from_value<bool>(r[0]));
  EXPECT_NE(cxxlua::from_value<std::string>(r[1]).find("cannot close a running coroutine"), std::string::npos);
  r.clear();
  checked.finish("closing the running coroutine");
}

}  // namespace
}  // namespace luahammer::cases
