// mlua #431 (docs/bugs.md S2, canary unlocked_entry). Originally: a Lua handle in a wrapper
// that was not thread-safe was used from several worker threads; threads died, deadlocked
// or aborted. C++ analog: a thread-safe state whose entries do not take the state lock.
// Four threads call, copy and drop handles on one thread-safe state; under TSan any
// unserialized entry is a reported race, and without TSan the unserialized Lua state
// corrupts itself (wrong results, ASan reports).
#include <atomic>
#include <thread>
#include <vector>

#include "case_support.hpp"

namespace luahammer::cases {
namespace {

// Enough rounds that the unserialized entries collide even when the four threads get one
// core between them (CI runs two tests at once on two cores; 300 rounds missed half the time).
constexpr int kRounds = 3000;

TEST(Mlua431, SharedStateAcrossThreads) {
  CheckedState checked(/*thread_safe=*/true);
  cxxlua::State& state = checked.state();
  {
    cxxlua::Function add = state.load("local a, b = ... local t = {a, b} return t[1] + t[2]");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kRounds; ++i) {
          cxxlua::Function copy = add;
          if (copy.call_as<int>(i, t) != i + t) ++wrong;
          cxxlua::Table table = state.create_table();
          table.set("k", i);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);
  }
  checked.finish("threads sharing one state");
}

}  // namespace
}  // namespace luahammer::cases
