// Claim: FaultAllocator counts live bytes and blocks exactly, injects failures
// deterministically (Nth, from Nth, seeded random, byte limit), never fails a shrink,
// and under any failure a state's memory all comes back at close.
#include <gtest/gtest.h>

#include <luahammer/core/fault_allocator.hpp>
#include <luahammer/core/oracles.hpp>

namespace luahammer {
namespace {

TEST(FaultAllocator, CountsLiveBytesAndBlocks) {
  FaultAllocator allocator;
  void* a = FaultAllocator::allocate(&allocator, nullptr, 0, 100);
  void* b = FaultAllocator::allocate(&allocator, nullptr, 0, 50);
  EXPECT_EQ(allocator.live_bytes(), 150u);
  EXPECT_EQ(allocator.live_blocks(), 2u);
  a = FaultAllocator::allocate(&allocator, a, 100, 200);
  EXPECT_EQ(allocator.live_bytes(), 250u);
  FaultAllocator::allocate(&allocator, a, 200, 0);
  FaultAllocator::allocate(&allocator, b, 50, 0);
  EXPECT_EQ(allocator.live_bytes(), 0u);
  EXPECT_EQ(allocator.live_blocks(), 0u);
}

TEST(FaultAllocator, FailsTheNthAndFromTheNthGrowthRequest) {
  FaultAllocator allocator;
  allocator.fail_nth(2);
  void* a = FaultAllocator::allocate(&allocator, nullptr, 0, 8);
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(FaultAllocator::allocate(&allocator, nullptr, 0, 8), nullptr);
  void* c = FaultAllocator::allocate(&allocator, nullptr, 0, 8);
  EXPECT_NE(c, nullptr);
  allocator.fail_from_nth(1);
  EXPECT_EQ(FaultAllocator::allocate(&allocator, nullptr, 0, 8), nullptr);
  EXPECT_EQ(FaultAllocator::allocate(&allocator, nullptr, 0, 8), nullptr);
  c = FaultAllocator::allocate(&allocator, c, 8, 4);
  EXPECT_NE(c, nullptr) << "a shrink must never fail";
  EXPECT_EQ(allocator.failures(), 3u);
  allocator.disarm();
  FaultAllocator::allocate(&allocator, a, 8, 0);
  FaultAllocator::allocate(&allocator, c, 4, 0);
}

TEST(FaultAllocator, RandomFailuresAreDeterministicPerSeed) {
  auto pattern = [](std::uint64_t seed) {
    FaultAllocator allocator;
    allocator.fail_randomly(300000, seed);
    std::string bits;
    for (int i = 0; i < 64; ++i) {
      void* p = FaultAllocator::allocate(&allocator, nullptr, 0, 16);
      bits += p != nullptr ? '1' : '0';
      FaultAllocator::allocate(&allocator, p, 16, 0);
    }
    return bits;
  };
  EXPECT_EQ(pattern(7), pattern(7));
  EXPECT_NE(pattern(7), pattern(8));
  EXPECT_NE(pattern(7).find('0'), std::string::npos);
}

TEST(FaultAllocator, ByteLimitRefusesGrowthPastIt) {
  FaultAllocator allocator;
  allocator.set_byte_limit(1000);
  void* a = FaultAllocator::allocate(&allocator, nullptr, 0, 900);
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(FaultAllocator::allocate(&allocator, nullptr, 0, 200), nullptr);
  FaultAllocator::allocate(&allocator, a, 900, 0);
}

TEST(FaultAllocator, SweepOverAStateReturnsAllMemoryAfterEveryRun) {
  const SweepResult result = sweep_allocation_failures(
      [](FaultAllocator& allocator) {
        // Plain Lua: the sweep is the allocator's, whatever binding sits on top.
        lua_State* L = lua_newstate(allocator.function(), allocator.data());
        if (L == nullptr) return false;
        const int status = luaL_loadstring(L, "t = {} for i = 1, 50 do t[i] = i .. 'x' end");
        const bool ok = status == LUA_OK && lua_pcall(L, 0, 0, 0) == LUA_OK;
        if (!ok) EXPECT_EQ(lua_status(L), LUA_OK);
        lua_close(L);
        return ok;
      },
      [](FaultAllocator& allocator, int run) {
        check_memory_returned(allocator, "a sweep run");
        EXPECT_EQ(allocator.live_bytes(), 0u) << "run " << run;
      });
  EXPECT_GT(result.runs, 50);
  EXPECT_EQ(result.failed_runs, result.runs - 1);
}

}  // namespace
}  // namespace luahammer
