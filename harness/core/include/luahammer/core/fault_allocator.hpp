// FaultAllocator: a lua_Alloc that counts live bytes and blocks and injects allocation
// failures deterministically: at the Nth request, at every request from the Nth on, or
// with a probability drawn from a seeded PRNG; plus a byte limit. Only growth can fail
// (Lua assumes shrinking never does). After lua_close its live bytes must be zero.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

#include <luahammer/lua.hpp>

namespace luahammer {

class FaultAllocator {
 public:
  enum class Mode { Off, FailNth, FailFromNth, FailRandomly };

  static void* allocate(void* self, void* ptr, std::size_t osize, std::size_t nsize) noexcept;
  lua_Alloc function() const noexcept { return &FaultAllocator::allocate; }
  void* data() noexcept { return this; }

  // Failure modes, counted in growth requests from the moment they are set.
  void fail_nth(std::uint64_t n);
  void fail_from_nth(std::uint64_t n);
  void fail_randomly(std::uint32_t per_million, std::uint64_t seed);
  void disarm();
  void set_byte_limit(std::size_t bytes) { byte_limit_.store(bytes); }  // 0 = none
  // While `spared(arg)` is true, no failure is injected nor counted (the byte limit still
  // holds): for allocations the code under test cannot answer, as those of Lua calling a
  // finalizer (a memory error there drops the finalizer for good, and what it would have
  // freed is lost: Lua's loss, not the code's).
  void spare_while(bool (*spared)(void*), void* arg) noexcept {
    spared_ = spared;
    spared_arg_ = arg;
  }

  std::size_t live_bytes() const noexcept { return live_bytes_.load(); }
  std::size_t live_blocks() const noexcept { return live_blocks_.load(); }
  std::uint64_t requests() const noexcept { return requests_.load(); }
  std::uint64_t failures() const noexcept { return failures_.load(); }
  Mode mode() const noexcept { return mode_; }
  // Bytes of growth granted since the last reset: allocation churn, which the instruction
  // budget charges for (a loop of a few instructions can allocate a gigabyte).
  std::uint64_t grown_bytes() const noexcept { return grown_bytes_.load(std::memory_order_relaxed); }
  void reset_grown_bytes() noexcept { grown_bytes_.store(0, std::memory_order_relaxed); }
  // Growth past `bytes` since the last reset is refused (0 = no allowance): churn that the
  // budget's count hook would only see a thousand instructions later.
  void set_growth_allowance(std::uint64_t bytes) noexcept { growth_allowance_.store(bytes); }

 private:
  bool should_fail() noexcept;
  std::atomic<std::size_t> live_bytes_{0};
  std::atomic<std::size_t> live_blocks_{0};
  std::atomic<std::size_t> byte_limit_{0};
  std::atomic<std::uint64_t> requests_{0};  // growth requests since the mode was set
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> grown_bytes_{0};
  std::atomic<std::uint64_t> growth_allowance_{0};
  bool (*spared_)(void*) = nullptr;
  void* spared_arg_ = nullptr;
  Mode mode_ = Mode::Off;
  std::uint64_t n_ = 0;
  std::uint32_t per_million_ = 0;
  std::uint64_t rng_ = 0;
};

// Runs `task` with allocation failure from request 1, 2, 3, … on (a fresh allocator each
// time), calling `check` after every run, until a run completes with no failure injected
// (the pattern of Lua's own testamem). Returns how many runs there were.
struct SweepResult {
  int runs = 0;
  int failed_runs = 0;  // runs in which the task reported failure
};
SweepResult sweep_allocation_failures(const std::function<bool(FaultAllocator&)>& task,
                                      const std::function<void(FaultAllocator&, int run)>& check,
                                      int max_runs = 100000);

}  // namespace luahammer
