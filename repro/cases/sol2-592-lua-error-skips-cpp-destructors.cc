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
  state.globals().set("three", state.create_function([](std::string a, std::string b, lua_Integer c) {
    return static_cast<lua_Integer>(a.size() + b.size()) + c;
  }));
  cxxlua::MultiValue r = state.exec(R"(
    local failures = 0
    local long = string.rep("x", 64)
    for i = 1, 1000 do
      if not pcall(raise, long) then failures = failures + 1 end
      if not pcall(three, long .. i, long, "not an integer") then failures = failures + 1 end
    end
    return failures
  )");
  EXPECT_EQ(cxxlua::from_value<int>(r[0]), 2000);
  r.clear();
  state.globals().set("raise", nullptr);
  state.globals().set("three", nullptr);
  checked.finish("raising host functions");
}

}  // namespace
}  // namespace luahammer::cases
