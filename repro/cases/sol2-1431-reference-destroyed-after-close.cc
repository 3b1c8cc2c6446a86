// sol2 #1431 (also #964, #1286; docs/bugs.md S3, canary unref_after_close). Originally: a
// reference destroyed after lua_close called luaL_unref on freed memory. C++ analog: a
// drop after close that unrefs through the lua_State it remembers. Handles of several
// kinds outlive their state here and are dropped after close: with the canary, ASan
// reports the use after free.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Sol2_1431, ReferenceDestroyedAfterClose) {
  cxxlua::Function function;
  cxxlua::Table table;
  {
    CheckedState checked;
    function = checked.state().load("return 1");
    table = checked.state().create_table();
    checked.state().close();
  }
  EXPECT_FALSE(function.state_alive());
  function = cxxlua::Function();  // drops after close: nothing happens
  table = cxxlua::Table();
}

}  // namespace
}  // namespace luahammer::cases
