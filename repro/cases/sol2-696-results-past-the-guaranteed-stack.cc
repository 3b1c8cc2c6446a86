// sol2 #696 (canary missing_checkstack). Originally: values pushed past the 20 slots Lua
// guarantees, without lua_checkstack. C++ analog: a host function's results pushed
// without growing the stack. Host functions returning 21..300 values must work; with the
// canary, Lua's API check ("stack overflow") aborts.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Sol2_696, ResultsPastTheGuaranteedStack) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  state.globals().set("many", state.create_function([](lua_Integer n) {
    cxxlua::MultiValue out;
    for (lua_Integer i = 0; i < n; ++i) out.emplace_back(i);
    return out;
  }));
  for (int n : {21, 64, 300}) {
    EXPECT_EQ(state.load("return select('#', many(...))").call_as<int>(n), n);
  }
  state.globals().set("many", nullptr);
  checked.finish("many results");
}

}  // namespace
}  // namespace luahammer::cases
