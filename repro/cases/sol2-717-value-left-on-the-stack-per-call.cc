// sol2 #717 (also #12, #395; canary stack_leak). Originally: an API call left one value
// on the Lua stack each time, until the stack overflowed. C++ analog: an entry point that
// forgets its pop. 10^5 calls of the table API must leave the main thread empty; with the
// canary, the entry's checking StackGuard reports "1 value leaked" and aborts.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Sol2_717, ValueLeftOnTheStackPerCall) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  {
    cxxlua::Table table = state.create_table();
    table.set(1, "one");
    for (int i = 0; i < 100000; ++i) {
      ASSERT_EQ(table.raw_len(), 1);
    }
    check_stack_at_rest(state, "10^5 calls");
  }
  checked.finish("10^5 calls");
}

}  // namespace
}  // namespace luahammer::cases
