// sol2 #592 (also LuaBridge3's LongjmpSafetyTests; canary longjmp_skips_dtor).
// Originally: a Lua error jump (longjmp) passed over C++ frames and skipped their
// destructors. C++ analog: raising the Lua error from inside the host function's catch
// handler, over the live exception object. Host functions with heap-owning locals raise
// a thousand times; with Lua compiled as C, LSan reports what the jump skipped.
#include <stdexcept>
#include <string>

#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Sol2_592, LuaErrorSkipsCppDestructors) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  state.globals().set("raise", state.create_function([](std::string text) -> int {
    const std::string local = "a heap string long enough to need an allocation: " + text;
    throw std::runtime_error(local);
  }));
  cxxlua::MultiValue r = state.exec(R"(
    local failures = 0
    for i = 1, 1000 do if not pcall(raise, string.rep("x", 64)) then failures = failures + 1 end end
    return failures
  )");
  EXPECT_EQ(cxxlua::from_value<int>(r[0]), 1000);
  r.clear();
  state.globals().set("raise", nullptr);
  checked.finish("raising host functions");
}

}  // namespace
}  // namespace luahammer::cases
