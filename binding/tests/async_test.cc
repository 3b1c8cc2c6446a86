// Claim: an async host function that answers Pending suspends its coroutine until its
// waker fires, also when that coroutine is driven by plain coroutine.resume or
// coroutine.wrap inside Lua code (mlua #499): the pending marker travels up to the
// driver and is never visible to user code. Dropping an unfinished call releases its
// future; a call nobody wakes is reported as stalled within the liveness bound.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "test_support.hpp"

namespace cxxlua {
namespace {

using namespace std::chrono_literals;
using testing::Tracked;

// An async function whose value is computed by a worker thread.
Function MakeFetch(State& state, WorkerPool& pool) {
  return state.create_async_function([&pool](lua_Integer x) -> AsyncPoll {
    auto completion = std::make_shared<Completion<lua_Integer>>();
    pool.submit([completion, x] {
      std::this_thread::sleep_for(1ms);
      completion->complete(x * 2);
    });
    return [completion](StateHandle&, const Waker& waker) -> std::optional<MultiValue> {
      if (auto v = completion->poll(waker)) return MultiValue{Value(*v)};
      return std::nullopt;
    };
  });
}

TEST(Async, Mlua499PendingInsidePlainCoroutineResumeFinishes) {
  State state;
  WorkerPool pool(2);
  state.globals().set("fetch", MakeFetch(state, pool));
  Function body = state.load(R"(
    local co = coroutine.create(function(x) return fetch(x) + 1 end)
    local ok, value = coroutine.resume(co, 20)
    assert(type(value) ~= "userdata", "the pending marker leaked to user code")
    return ok, value, coroutine.status(co)
  )");
  Executor executor(5s);
  AsyncCall call = state.async_call(body);
  MultiValue r = executor.block_on(call);
  EXPECT_TRUE(from_value<bool>(r[0]));
  EXPECT_EQ(from_value<int>(r[1]), 41);
  EXPECT_EQ(from_value<std::string>(r[2]), "dead");
  EXPECT_GE(call.resumes(), 2u);
}

TEST(Async, NestedCoroutineWrapPropagatesPending) {
  State state;
  WorkerPool pool(2);
  state.globals().set("fetch", MakeFetch(state, pool));
  Function body = state.load(R"(
    local outer = coroutine.wrap(function()
      local inner = coroutine.wrap(function() return fetch(1) + fetch(2) end)
      return inner() * 10
    end)
    return outer()
  )");
  Executor executor(5s);
  AsyncCall call = state.async_call(body);
  EXPECT_EQ(from_value<int>(executor.block_on(call)[0]), 60);
}

TEST(Async, ReadyFutureWorksOutsideAnyDriver) {
  State state;
  state.globals().set("now", state.create_async_function([]() -> AsyncPoll {
    return [](StateHandle&, const Waker&) -> std::optional<MultiValue> { return MultiValue{Value(7)}; };
  }));
  EXPECT_EQ(state.load("return now()").call_as<int>(), 7);
}

TEST(Async, PendingWithoutADriverIsACleanError) {
  State state;
  state.globals().set("never", state.create_async_function([]() -> AsyncPoll {
    return [](StateHandle&, const Waker&) -> std::optional<MultiValue> { return std::nullopt; };
  }));
  EXPECT_THROW(state.exec("never()"), Error);  // main thread: cannot suspend
  Thread co = state.create_thread(state.load("return never()"));
  try {
    (void)co.resume();  // a plain resume is no async driver
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Coroutine);
  }
  MultiValue r = state.exec("local ok, e = coroutine.resume(coroutine.create(never)) return ok, e");
  EXPECT_FALSE(from_value<bool>(r[0]));
}

TEST(Async, NobodyWakesMeansStalledWithinTheBound) {
  State state;
  state.globals().set("never", state.create_async_function([]() -> AsyncPoll {
    return [](StateHandle&, const Waker&) -> std::optional<MultiValue> { return std::nullopt; };
  }));
  Executor executor(50ms);
  AsyncCall call = state.async_call(state.load("return never()"));
  try {
    (void)executor.block_on(call);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("stalled"), std::string::npos);
  }
}

TEST(Async, DroppingAnUnfinishedCallReleasesEverything) {
  Tracked::reset();
  State state;
  const long long baseline = state.live_references();
  state.globals().set("hold", state.create_async_function([]() -> AsyncPoll {
    auto tracked = std::make_shared<Tracked>(1);
    return [tracked](StateHandle&, const Waker&) -> std::optional<MultiValue> { return std::nullopt; };
  }));
  const long long with_function = state.live_references();
  {
    AsyncCall call = state.async_call(
        state.load("local t <close> = setmetatable({}, {__close = function() closed = true end}) return hold()"));
    EXPECT_FALSE(call.poll().has_value());
    EXPECT_EQ(Tracked::live, 1);
  }
  state.collect_garbage();
  state.collect_garbage();
  (void)state.create_table();
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_TRUE(state.load("return closed").call_as<bool>());
  EXPECT_EQ(state.live_references(), with_function);
  EXPECT_GT(with_function, baseline - 1);
}

TEST(Async, ManyCallsCompletedByAWorkerPool) {
  State state;
  WorkerPool pool(4);
  state.globals().set("fetch", MakeFetch(state, pool));
  Function body = state.load(R"(
    local sum = 0
    for i = 1, 20 do
      local co = coroutine.wrap(function() return fetch(i) end)
      sum = sum + co()
    end
    return sum
  )");
  Executor executor(5s);
  for (int round = 0; round < 5; ++round) {
    AsyncCall call = state.async_call(body);
    EXPECT_EQ(from_value<int>(executor.block_on(call)[0]), 420);
  }
}

// Found by the thread driver's shared-state test (docs/findings.md #10): a waker fired on
// one thread read the task's executor signal while another thread's Executor::block_on
// attached its own. The waker here fires before block_on starts, with only a relaxed flag
// between the two threads (no happens-before), so TSan sees the two accesses unordered
// every time unless the binding orders them itself.
TEST(Async, AWakeFromAnotherThreadWhileAnExecutorAttachesIsOrdered) {
  State state;
  auto completion = std::make_shared<Completion<lua_Integer>>();
  state.globals().set("later", state.create_async_function([completion]() -> AsyncPoll {
    return [completion](StateHandle&, const Waker& waker) -> std::optional<MultiValue> {
      if (auto v = completion->poll(waker)) return MultiValue{Value(*v)};
      return std::nullopt;
    };
  }));
  AsyncCall call = state.async_call(state.load("return later() + 1"));
  ASSERT_FALSE(call.poll().has_value());  // the waker is now registered in the completion
  std::atomic<bool> completed{false};
  std::thread waker_thread([&] {
    completion->complete(41);
    completed.store(true, std::memory_order_relaxed);
  });
  while (!completed.load(std::memory_order_relaxed)) std::this_thread::yield();
  Executor executor(5s);
  EXPECT_EQ(from_value<int>(executor.block_on(call)[0]), 42);
  waker_thread.join();
}

}  // namespace
}  // namespace cxxlua
