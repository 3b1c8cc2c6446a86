// sol2 #890 (also #1739, LuaBridge #58, mlua #479; canary coroutine_state_ref).
// Originally: a reference kept the coroutine's lua_State it was created on instead of the
// main thread, and used it after the coroutine was collected. C++ analog: a reference
// released through the thread it was taken on. A function stored from inside a
// coroutine outlives it and is dropped afterwards; with the canary, ASan reports the use
// of the freed coroutine.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Sol2_890, ReferenceAnchoredToACoroutine) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  state.exec(R"(
    local co = coroutine.wrap(function() return host.store(function() return 7 end) end)
    slot = co()
  )");
  state.collect_garbage();  // the coroutine is gone; the stored function is not
  state.collect_garbage();
  EXPECT_EQ(state.load("return host.call_stored(slot)").call_as<int>(), 7);
  checked.finish("a reference made inside a coroutine");  // drops it
}

}  // namespace
}  // namespace luahammer::cases
