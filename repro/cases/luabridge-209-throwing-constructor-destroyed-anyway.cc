// LuaBridge #209 (canary destroy_unconstructed). Originally: a constructor threw and __gc
// still ran the destructor on the never-constructed object. C++ analog: __gc ignoring the
// userdata's construction status. Fragile's constructor throws for odd values after
// constructing a member; the member must be destroyed once (by C++ unwinding), never
// again by __gc.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(LuaBridge209, ThrowingConstructorDestroyedAnyway) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  for (int i = 1; i <= 5; i += 2) {
    EXPECT_THROW(state.create_userdata<Fragile>(&checked.vm().host->finalizers, lua_Integer{i}), std::runtime_error);
  }
  state.collect_garbage();
  checked.finish("throwing constructors");
}

}  // namespace
}  // namespace luahammer::cases
