// Chaos plans decoded from fuzz bytes: which hook fires and what it does, how the GC
// runs, which allocations fail. Each plan can describe itself for --explain.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <cxxlua/cxxlua.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include "harness/fault_allocator.hpp"

namespace luahammer {

struct HookPlan {
  enum class Action : std::uint8_t { Raise, Yield, CollectGarbage, ReplaceHook, RemoveHook, Throw };
  cxxlua::HookTriggers triggers;
  std::uint32_t event_number = 1;  // the event that acts (1-based)
  std::uint32_t repeat_every = 0;  // then every k events after it (0 = once)
  Action action = Action::Raise;

  static HookPlan decode(FuzzedDataProvider& data);
  std::string describe() const;
  // A callback acting on this plan's events; the state shares its counter.
  cxxlua::HookCallback make_callback() const;
};

struct GcPlan {
  bool generational = false;
  int step_kilobytes = 0;     // 0: no steps between ops
  int collect_every = 0;      // full collection every n ops (0 = never)
  bool switch_modes = false;  // flip the mode at every collection

  static GcPlan decode(FuzzedDataProvider& data);
  std::string describe() const;
  void apply(const cxxlua::StateHandle& state) const;
  // Between ops: steps, collections, mode switches as planned (op index from 1).
  void between_ops(const cxxlua::StateHandle& state, std::uint64_t op_index) const;
};

struct FailPlan {
  FaultAllocator::Mode mode = FaultAllocator::Mode::Off;
  std::uint64_t n = 0;
  std::uint32_t per_million = 0;
  std::uint64_t seed = 0;
  std::size_t byte_limit = 0;

  static FailPlan decode(FuzzedDataProvider& data);
  std::string describe() const;
  void apply(FaultAllocator& allocator) const;
};

}  // namespace luahammer
