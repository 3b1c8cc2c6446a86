// mlua #499 (docs/bugs.md S5, canary pending_swallowed). Originally: an async host function
// yields a private "pending" sentinel; called from a coroutine resumed by plain
// coroutine.resume, the sentinel came back as an ordinary yield value and the work was
// never polled again. C++ analog: the binding's coroutine.resume handing the marker to
// user code. The call must finish with the right value, and host.echo reports the
// marker if user code ever sees it.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua499, PendingLostInCoroutineResume) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  {
    cxxlua::Function body = state.load(R"(
      local co = coroutine.create(function(x) return host.fetch(x) + 1 end)
      local ok, value = host.echo(coroutine.resume(co, 20))
      return ok, value
    )");
    cxxlua::AsyncCall call = state.async_call(body);
    std::optional<cxxlua::MultiValue> results;
    for (int round = 0; round < 16 && !results; ++round) {
      results = call.poll();
      checked.vm().host->wake_all();
    }
    ASSERT_TRUE(results.has_value()) << "the async call never finished";
    EXPECT_TRUE(cxxlua::from_value<bool>((*results)[0]));
    EXPECT_EQ(cxxlua::from_value<int>((*results)[1]), 41);
  }
  checked.finish("an async call in a plain resume");
}

}  // namespace
}  // namespace luahammer::cases
