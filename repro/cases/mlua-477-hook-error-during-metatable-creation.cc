// mlua #477 (docs/bugs.md S1, canary guard_error_path). Originally: creating a userdata type's
// metatable the first time opened a stack guard expecting the metatable on top (+1); a
// call hook raised inside an internal protected call, the error path returned with
// nothing pushed, and the guard found one value fewer ("1 too many stack values popped").
// C++ analog: register_type's guard sized for the success path. This case sweeps a hook
// that raises at event N, for every N, over first-time registration, userdata creation
// and table stores: each run must end in success or a clean error with balanced ledgers;
// with the canary, the guard reports the imbalance and aborts.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua477, HookErrorDuringMetatableCreation) {
  int errors = 0;
  for (long long n = 1; n < 2000; ++n) {
    CheckedState checked;
    cxxlua::State& state = checked.state();
    long long events = 0;
    state.set_hook(cxxlua::HookTriggers{.on_calls = true, .on_returns = true, .every_nth_instruction = 2000},
                   [&](cxxlua::StateHandle&, const cxxlua::HookEvent&) {
                     return ++events == n ? cxxlua::HookAction::error("cancelled") : cxxlua::HookAction::resume();
                   });
    bool completed = false;
    try {
      register_vm_types(state);
      cxxlua::Table table = state.create_table();
      table.set("probe", state.create_userdata<Probe>(&checked.vm().host->finalizers, lua_Integer{1}));
      state.exec("local t = {} t[1] = host.make(2)");
      completed = true;
    } catch (const cxxlua::Error&) {
      ++errors;
    }
    checked.finish("a hook error during registration");
    if (completed && events < n) break;
  }
  EXPECT_GT(errors, 5);
}

}  // namespace
}  // namespace luahammer::cases
