// Chaos plans decoded from fuzz bytes: which hook fires and what it does, how the GC
// runs, which allocations fail. Each plan can describe itself for --explain and encode
// itself back into the bytes it was decoded from. Binding-agnostic: the plans decide
// *when* and *what*; a binding's layer (or a plain lua_sethook, as the module fuzzer
// does) carries the action out. Decoding is a template over the reader: the op-program
// format's ByteReader or libFuzzer's FuzzedDataProvider.
#pragma once

#include <cstdint>
#include <string>

#include <luahammer/core/fault_allocator.hpp>
#include <luahammer/core/wire.hpp>

namespace luahammer {

struct HookPlan {
  enum class Action : std::uint8_t { Raise, Yield, CollectGarbage, ReplaceHook, RemoveHook, Throw };
  static constexpr int kActions = 6;
  struct Triggers {
    bool on_calls = false;
    bool on_returns = false;
    bool every_line = false;
    int every_nth_instruction = 0;  // 0 = off
    int lua_mask() const;           // LUA_MASKCALL | … for lua_sethook
  };
  Triggers triggers;
  std::uint32_t event_number = 1;  // the event that acts (1-based)
  std::uint32_t repeat_every = 0;  // then every k events after it (0 = once)
  Action action = Action::Raise;

  template <class Reader>
  static HookPlan decode(Reader& data);
  void encode(ByteWriter& out) const;
  std::string describe() const;
  static const char* action_name(Action action);  // "raise", "yield", … (seed names)
  // Whether the plan acts at the n-th event (1-based) it counts.
  bool acts_at(std::uint64_t n) const {
    return n == event_number || (repeat_every > 0 && n > event_number && (n - event_number) % repeat_every == 0);
  }
  // The plan a ReplaceHook action installs instead: the same triggers and repeat, raising
  // at its first event.
  HookPlan replacement() const {
    HookPlan next = *this;
    next.event_number = 1;
    next.action = Action::Raise;
    return next;
  }
};

// The one interpreter of a hook plan: counts the plan's events and says when it acts.
// Whoever installs the hook (lua_sethook, a binding's set_hook) carries the action out.
class HookPlanRun {
 public:
  explicit HookPlanRun(const HookPlan& plan) : plan_(plan) {}
  // Counts one event; true when the plan acts at it.
  bool next_event_acts() { return plan_.acts_at(++events_); }
  std::uint64_t events() const { return events_; }
  const HookPlan& plan() const { return plan_; }

 private:
  HookPlan plan_;
  std::uint64_t events_ = 0;
};

struct GcPlan {
  bool generational = false;
  int step_kilobytes = 0;     // 0: no steps between ops
  int collect_every = 0;      // full collection every n ops (0 = never)
  bool switch_modes = false;  // flip the mode at every collection

  template <class Reader>
  static GcPlan decode(Reader& data);
  void encode(ByteWriter& out) const;
  std::string describe() const;
  // Between ops (op index from 1): a step, a full collection, then the mode switch, as
  // planned. `Gc` carries them out: step(kilobytes), collect(), set_generational(bool).
  template <class Gc>
  void between_ops(Gc& gc, std::uint64_t op_index) const {
    if (step_kilobytes > 0) gc.step(step_kilobytes);
    if (collect_every > 0 && op_index % static_cast<std::uint64_t>(collect_every) == 0) {
      gc.collect();
      if (switch_modes) gc.set_generational((op_index / static_cast<std::uint64_t>(collect_every)) % 2 == 0);
    }
  }
};

struct FailPlan {
  FaultAllocator::Mode mode = FaultAllocator::Mode::Off;
  std::uint64_t n = 0;
  std::uint32_t per_million = 0;
  std::uint64_t seed = 0;
  std::size_t byte_limit = 0;

  template <class Reader>
  static FailPlan decode(Reader& data);
  void encode(ByteWriter& out) const;
  std::string describe() const;
  void apply(FaultAllocator& allocator) const;
};

// ------------------------------------------------------------------ decoding (templates)
// Each encode() in chaos.cc writes what these read, in the same order.

template <class Reader>
HookPlan HookPlan::decode(Reader& data) {
  HookPlan plan;
  const auto mask = data.template ConsumeIntegral<std::uint8_t>();
  plan.triggers.on_calls = (mask & 1) != 0;
  plan.triggers.on_returns = (mask & 2) != 0;
  plan.triggers.every_line = (mask & 4) != 0;
  if ((mask & 8) != 0) plan.triggers.every_nth_instruction = data.template ConsumeIntegralInRange<int>(1, 2000);
  if ((mask & 15) == 0) plan.triggers.on_calls = true;  // a plan always has a trigger
  plan.event_number = data.template ConsumeIntegralInRange<std::uint32_t>(1, 400);
  plan.repeat_every = data.ConsumeBool() ? data.template ConsumeIntegralInRange<std::uint32_t>(1, 64) : 0;
  plan.action = static_cast<Action>(data.template ConsumeIntegralInRange<int>(0, kActions - 1));
  return plan;
}

template <class Reader>
GcPlan GcPlan::decode(Reader& data) {
  GcPlan plan;
  plan.generational = data.ConsumeBool();
  plan.step_kilobytes = data.ConsumeBool() ? data.template ConsumeIntegralInRange<int>(0, 64) : 0;
  plan.collect_every = data.ConsumeBool() ? data.template ConsumeIntegralInRange<int>(1, 16) : 0;
  plan.switch_modes = data.ConsumeBool();
  return plan;
}

template <class Reader>
FailPlan FailPlan::decode(Reader& data) {
  FailPlan plan;
  switch (data.template ConsumeIntegralInRange<int>(0, 4)) {
    case 1: plan.mode = FaultAllocator::Mode::FailNth; break;
    case 2: plan.mode = FaultAllocator::Mode::FailFromNth; break;
    case 3: plan.mode = FaultAllocator::Mode::FailRandomly; break;
    default: plan.mode = FaultAllocator::Mode::Off; break;
  }
  plan.n = data.template ConsumeIntegralInRange<std::uint64_t>(1, 4000);
  plan.per_million = data.template ConsumeIntegralInRange<std::uint32_t>(1, 20000);
  plan.seed = data.template ConsumeIntegral<std::uint64_t>();
  plan.byte_limit =
      data.ConsumeBool() ? data.template ConsumeIntegralInRange<std::size_t>(64 * 1024, 4 * 1024 * 1024) : 0;
  return plan;
}

}  // namespace luahammer
