// piccolo #45 (docs/bugs.md S4, canary finalize_missed). Originally: a host retried an
// erroring script with a fresh executor each time; the GC ran finalizers and let the
// program run before sweeping, and an object created in that window was freed without
// being finalized ("thread finalization was missed"). C++ analog: a userdata created
// while the collector runs finalizers is never registered for finalization. The retry
// loop below creates userdata from __gc; at close every object must have been destroyed
// exactly once (finalizer ledger), else "finalizer missed".
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Piccolo45, FinalizationMissedInRetryLoop) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  {
    cxxlua::Function script = state.load(R"(
      setmetatable({}, {__gc = function() local made = host.make(1) end})
      local co = coroutine.create(function() local r <close> = host.make(2) error("retry") end)
      coroutine.resume(co)
      return nil
    )");
    for (int attempt = 0; attempt < 20; ++attempt) {
      try {
        cxxlua::Thread fresh = state.create_thread(script);
        cxxlua::MultiValue results = fresh.resume();
        (void)cxxlua::from_value<lua_Integer>(results.empty() ? cxxlua::Value() : results[0]);
      } catch (const cxxlua::Error&) {
        // the host's conversion of nil fails: retry
      }
      (void)state.gc_step(attempt % 7);
    }
  }
  checked.finish("the retry loop");
}

}  // namespace
}  // namespace luahammer::cases
