#include <luahammer/core/fault_allocator.hpp>

#include <cstdlib>

namespace luahammer {

namespace {
std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

void FaultAllocator::fail_nth(std::uint64_t n) {
  mode_ = Mode::FailNth;
  n_ = n;
  requests_ = 0;
}

void FaultAllocator::fail_from_nth(std::uint64_t n) {
  mode_ = Mode::FailFromNth;
  n_ = n;
  requests_ = 0;
}

void FaultAllocator::fail_randomly(std::uint32_t per_million, std::uint64_t seed) {
  mode_ = Mode::FailRandomly;
  per_million_ = per_million;
  rng_ = seed;
  requests_ = 0;
}

void FaultAllocator::disarm() { mode_ = Mode::Off; }

bool FaultAllocator::should_fail() noexcept {
  const std::uint64_t request = ++requests_;
  switch (mode_) {
    case Mode::Off: return false;
    case Mode::FailNth: return request == n_;
    case Mode::FailFromNth: return request >= n_;
    case Mode::FailRandomly: return splitmix64(rng_) % 1000000 < per_million_;
  }
  return false;
}

void* FaultAllocator::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* self = static_cast<FaultAllocator*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    if (ptr != nullptr) {
      std::free(ptr);
      self->live_bytes_.fetch_sub(old);
      self->live_blocks_.fetch_sub(1);
    }
    return nullptr;
  }
  if (nsize > old) {
    const std::size_t limit = self->byte_limit_.load();
    const bool spared = self->spared_ != nullptr && self->spared_(self->spared_arg_);
    if ((limit != 0 && self->live_bytes_.load() - old + nsize > limit) || (!spared && self->should_fail())) {
      self->failures_.fetch_add(1);
      return nullptr;
    }
    const std::uint64_t allowance = self->growth_allowance_.load();
    if (allowance != 0 && self->grown_bytes_.load(std::memory_order_relaxed) + (nsize - old) > allowance) {
      return nullptr;
    }
  }
  void* block = std::realloc(ptr, nsize);
  if (block == nullptr) return nullptr;
  if (ptr == nullptr) self->live_blocks_.fetch_add(1);
  // One update of the live bytes, by the difference (unsigned: a shrink wraps back).
  self->live_bytes_.fetch_add(nsize - old);
  if (nsize > old) self->grown_bytes_.fetch_add(nsize - old, std::memory_order_relaxed);
  return block;
}

SweepResult sweep_allocation_failures(const std::function<bool(FaultAllocator&)>& task,
                                      const std::function<void(FaultAllocator&, int run)>& check, int max_runs) {
  SweepResult result;
  for (int n = 1; n <= max_runs; ++n) {
    FaultAllocator allocator;
    allocator.fail_from_nth(static_cast<std::uint64_t>(n));
    const bool ok = task(allocator);
    ++result.runs;
    if (!ok) ++result.failed_runs;
    check(allocator, n);
    if (ok && allocator.failures() == 0) break;
  }
  return result;
}

}  // namespace luahammer
