// mlua 949906f (canary unref_in_gc_deadlock). Originally: dropping a reference inside
// __gc took a non-reentrant lock already held by the entry whose allocation ran the
// collection: a deadlock. C++ analog: a drop from a finalizer blocking on a lock its own
// thread holds. A thread-safe state collects a userdata that holds a function; under the
// watchdog, a self-deadlock is reported instead of hanging.
#include <chrono>

#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua949906f, UnrefInsideGcDeadlock) {
  Watchdog watchdog(std::chrono::milliseconds(5000));
  const int worker = watchdog.add_worker("collecting thread");
  CheckedState checked(/*thread_safe=*/true);
  cxxlua::State& state = checked.state();
  for (int i = 0; i < 10; ++i) {
    watchdog.progress(worker, "creating a userdata that holds a function");
    {
      cxxlua::AnyUserData u = state.create_userdata<Probe>(&checked.vm().host->finalizers, lua_Integer{i});
      u.borrow_mut<Probe>()->stored = state.load("return 1");
    }
    watchdog.progress(worker, "collecting: the finalizer drops the function");
    state.collect_garbage();
  }
  watchdog.stop();
  checked.finish("drops inside __gc");
}

}  // namespace
}  // namespace luahammer::cases
