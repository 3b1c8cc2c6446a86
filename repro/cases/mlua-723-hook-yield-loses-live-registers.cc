// mlua #723 (canary hook_yield_truncates). Originally: after a count hook yielded a
// coroutine, the host reset the coroutine's top below its live registers, and the GC
// cleared them. C++ analog: resetting a suspended coroutine's top after a hook yield.
// A coroutine yields from a count hook every 7 instructions, a full collection runs
// between resumes, and its results must be exactly what the code computes.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua723, HookYieldLosesLiveRegisters) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  {
    cxxlua::Thread co = state.create_thread(state.load(R"(
      local parts, text = {}, string.rep("a", 10) .. "b"
      for i = 1, 100 do parts[#parts + 1] = text .. i end
      return #parts, parts[100], text
    )"));
    co.set_hook(cxxlua::HookTriggers{.every_nth_instruction = 7},
                [](cxxlua::StateHandle&, const cxxlua::HookEvent&) { return cxxlua::HookAction::yield(); });
    cxxlua::MultiValue results;
    int yields = 0;
    while (co.status() == cxxlua::ThreadStatus::Resumable && yields < 100000) {
      results = co.resume();
      state.collect_garbage();
      ++yields;
    }
    co.remove_hook();
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(cxxlua::from_value<int>(results[0]), 100);
    EXPECT_EQ(cxxlua::from_value<std::string>(results[1]), "aaaaaaaaaab100");
    EXPECT_EQ(cxxlua::from_value<std::string>(results[2]), "aaaaaaaaaab");
  }
  checked.finish("hook yields");
}

}  // namespace
}  // namespace luahammer::cases
