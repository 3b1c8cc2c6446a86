// mlua #423 (docs/bugs.md S3, canary gc_drop_touches_state). Originally: a Function taken from
// Lua was stored in a host struct that Lua also held as userdata; at close, Lua ran the
// userdata's finalizer, which dropped its Function copy, and the drop tried to reach the
// state being destroyed (a panic). C++ analog: a drop from a finalizer run by close that
// enters the state instead of doing nothing. Here close runs that finalizer; the drop
// must be a no-op, and the host's own copy must give "state closed" when called after.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua423, StoredFunctionDroppedDuringClose) {
  cxxlua::Function host_copy;
  {
    CheckedState checked;
    cxxlua::State& state = checked.state();
    {
      cxxlua::Function f = state.load("return 'alive'");
      host_copy = f;
      cxxlua::AnyUserData holder = state.create_userdata<Probe>(&checked.vm().host->finalizers, lua_Integer{1});
      holder.borrow_mut<Probe>()->stored = f;
      state.globals().set("holder", holder);  // owned by Lua until close
    }
    EXPECT_EQ(host_copy.call_as<std::string>(), "alive");
    state.close();  // the holder's finalizer drops its copy during close
    check_memory_returned(*checked.vm().allocator, "close");
    checked.vm().host->finalizers.check_all_destroyed("close");
  }
  try {
    (void)host_copy.call();
    FAIL() << "a call after close succeeded";
  } catch (const cxxlua::Error& e) {
    EXPECT_EQ(e.kind(), cxxlua::ErrorKind::StateClosed);
  }
}

}  // namespace
}  // namespace luahammer::cases
