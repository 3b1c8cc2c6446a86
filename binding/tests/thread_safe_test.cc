// Claim: a thread-safe state serializes every entry (calls, handle copy and drop,
// userdata borrows, hooks, GC) on its reentrant lock, so threads can share it (TSan
// clean under the tsan preset); drops from threads that never entered never block; a
// finalizer dropping a reference while its thread holds the lock cannot deadlock.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace cxxlua {
namespace {

using testing::Tracked;

StateOptions ThreadSafe() {
  StateOptions options;
  options.thread_safe = true;
  return options;
}

TEST(ThreadSafeState, EightThreadsCallCopyDropAndBorrow) {
  Tracked::reset();
  {
    State state(ThreadSafe());
    state.register_type<Tracked>(
        "Tracked", [](UserDataBuilder<Tracked>& t) { t.method("bump", [](Tracked& self) { return ++self.value; }); });
    state.globals().set("shared", state.create_userdata<Tracked>(0));
    Function work = state.load("local x = ... local t = {x, tostring(x)} return #t + x");
    AnyUserData shared = state.globals().get<AnyUserData>("shared");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 400; ++i) {
          try {
            if (work.call_as<int>(i) != i + 2) ++failures;
            Function copy = work;                // copy and drop a handle
            Table table = state.create_table();  // create and drop
            table.set("i", i);
            {
              auto borrowed = shared.borrow<Tracked>();
              (void)borrowed->value;
            }
            if (i % 50 == 0) state.exec("shared:bump()");
            if (i % 100 == t) state.gc_step(1);
          } catch (const Error& e) {
            // A mutable borrow in Lua while another thread holds a shared one is a
            // clean Borrow error, not a race.
            if (e.kind() != ErrorKind::Callback && e.kind() != ErrorKind::Borrow) ++failures;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
  }
  EXPECT_EQ(Tracked::live, 0);
}

TEST(ThreadSafeState, DropsFromThreadsThatNeverEnteredDoNotBlock) {
  State state(ThreadSafe());
  const long long baseline = state.live_references();
  std::vector<Table> tables;
  for (int i = 0; i < 64; ++i) tables.push_back(state.create_table());
  std::vector<std::thread> droppers;
  for (int t = 0; t < 4; ++t) {
    droppers.emplace_back([&tables, t] {
      for (int i = t; i < 64; i += 4) tables[static_cast<std::size_t>(i)] = Table();
    });
  }
  for (auto& thread : droppers) thread.join();
  (void)state.create_table();
  EXPECT_EQ(state.live_references(), baseline);
}

struct HoldsTable {
  Table table;
};

TEST(ThreadSafeState, FinalizerDroppingAReferenceUnderTheLockDoesNotDeadlock) {
  State state(ThreadSafe());
  const long long baseline = state.live_references();
  for (int i = 0; i < 100; ++i) (void)state.create_userdata<HoldsTable>(HoldsTable{state.create_table()});
  state.collect_garbage();
  (void)state.create_table();
  EXPECT_EQ(state.live_references(), baseline);
}

TEST(ThreadSafeState, HookRunsUnderTheLockAcrossThreads) {
  State state(ThreadSafe());
  std::atomic<long long> events{0};
  state.set_hook(HookTriggers{.on_calls = true}, [&](StateHandle&, const HookEvent&) {
    events.fetch_add(1);
    return HookAction::resume();
  });
  Function f = state.load("local function g() end for i = 1, 10 do g() end");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) (void)f.call();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_GE(events.load(), 4 * 50 * 10);
}

}  // namespace
}  // namespace cxxlua
