// sol2 #1009 (also #227; canary double_destroy). Originally: an object explicitly
// destroyed (or taken) was destroyed again by __gc. C++ analog: destroy() that does not
// mark the userdata destructed. Each object must be destroyed exactly once (finalizer
// ledger).
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Sol2_1009, DestroyedThenCollectedAgain) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  {
    cxxlua::AnyUserData u = state.create_userdata<Probe>(&checked.vm().host->finalizers, lua_Integer{1});
    u.destroy();
  }
  state.collect_garbage();
  checked.finish("destroy, then collect");
}

}  // namespace
}  // namespace luahammer::cases
