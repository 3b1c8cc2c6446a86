#include "harness/chaos.hpp"

#include <stdexcept>

namespace luahammer {

using cxxlua::HookAction;
using cxxlua::HookCallback;
using cxxlua::HookEvent;
using cxxlua::StateHandle;

HookPlan HookPlan::decode(FuzzedDataProvider& data) {
  HookPlan plan;
  const auto mask = data.ConsumeIntegral<std::uint8_t>();
  plan.triggers.on_calls = (mask & 1) != 0;
  plan.triggers.on_returns = (mask & 2) != 0;
  plan.triggers.every_line = (mask & 4) != 0;
  if ((mask & 8) != 0) plan.triggers.every_nth_instruction = data.ConsumeIntegralInRange<int>(1, 2000);
  if ((mask & 15) == 0) plan.triggers.on_calls = true;  // a plan always has a trigger
  plan.event_number = data.ConsumeIntegralInRange<std::uint32_t>(1, 400);
  plan.repeat_every = data.ConsumeBool() ? data.ConsumeIntegralInRange<std::uint32_t>(1, 64) : 0;
  plan.action = static_cast<Action>(data.ConsumeIntegralInRange<int>(0, 5));
  return plan;
}

std::string HookPlan::describe() const {
  static const char* const actions[] = {
      "raise", "yield", "collect garbage", "replace the hook", "remove the hook", "throw a C++ exception"};
  std::string out = "hook on";
  if (triggers.on_calls) out += " calls";
  if (triggers.on_returns) out += " returns";
  if (triggers.every_line) out += " lines";
  if (triggers.every_nth_instruction > 0)
    out += " every " + std::to_string(triggers.every_nth_instruction) + " instructions";
  out += ": " + std::string(actions[static_cast<int>(action)]) + " at event " + std::to_string(event_number);
  if (repeat_every > 0) out += " and every " + std::to_string(repeat_every) + " after";
  return out;
}

HookCallback HookPlan::make_callback() const {
  auto events = std::make_shared<std::uint64_t>(0);
  const HookPlan plan = *this;
  return [plan, events](StateHandle& state, const HookEvent&) -> HookAction {
    const std::uint64_t n = ++*events;
    const bool acts = n == plan.event_number || (plan.repeat_every > 0 && n > plan.event_number &&
                                                 (n - plan.event_number) % plan.repeat_every == 0);
    if (!acts) return HookAction::resume();
    switch (plan.action) {
      case Action::Raise: return HookAction::error("hook plan: raise at event " + std::to_string(n));
      case Action::Yield: return HookAction::yield();
      case Action::CollectGarbage: state.collect_garbage(); return HookAction::resume();
      case Action::ReplaceHook: {
        HookPlan next = plan;
        next.event_number = 1;
        next.action = Action::Raise;
        state.set_hook(next.triggers, next.make_callback());
        return HookAction::resume();
      }
      case Action::RemoveHook: state.remove_hook(); return HookAction::resume();
      case Action::Throw:
        // A std::exception, or (every other event) an exception of no standard type.
        if (n % 2 == 0) throw static_cast<int>(n);
        throw std::runtime_error("hook plan: throw at event " + std::to_string(n));
    }
    return HookAction::resume();
  };
}

GcPlan GcPlan::decode(FuzzedDataProvider& data) {
  GcPlan plan;
  plan.generational = data.ConsumeBool();
  plan.step_kilobytes = data.ConsumeBool() ? data.ConsumeIntegralInRange<int>(0, 64) : 0;
  plan.collect_every = data.ConsumeBool() ? data.ConsumeIntegralInRange<int>(1, 16) : 0;
  plan.switch_modes = data.ConsumeBool();
  return plan;
}

std::string GcPlan::describe() const {
  std::string out = generational ? "gc generational" : "gc incremental";
  if (step_kilobytes > 0) out += ", step " + std::to_string(step_kilobytes) + " KB between ops";
  if (collect_every > 0) out += ", full collection every " + std::to_string(collect_every) + " ops";
  if (switch_modes) out += ", switching modes";
  return out;
}

void GcPlan::apply(const StateHandle& state) const {
  if (generational) {
    state.set_gc_generational();
  } else {
    state.set_gc_incremental();
  }
}

void GcPlan::between_ops(const StateHandle& state, std::uint64_t op_index) const {
  if (step_kilobytes > 0) (void)state.gc_step(step_kilobytes);
  if (collect_every > 0 && op_index % static_cast<std::uint64_t>(collect_every) == 0) {
    state.collect_garbage();
    if (switch_modes) {
      if ((op_index / static_cast<std::uint64_t>(collect_every)) % 2 == 0) {
        state.set_gc_generational();
      } else {
        state.set_gc_incremental();
      }
    }
  }
}

FailPlan FailPlan::decode(FuzzedDataProvider& data) {
  FailPlan plan;
  switch (data.ConsumeIntegralInRange<int>(0, 4)) {
    case 1: plan.mode = FaultAllocator::Mode::FailNth; break;
    case 2: plan.mode = FaultAllocator::Mode::FailFromNth; break;
    case 3: plan.mode = FaultAllocator::Mode::FailRandomly; break;
    default: plan.mode = FaultAllocator::Mode::Off; break;
  }
  plan.n = data.ConsumeIntegralInRange<std::uint64_t>(1, 4000);
  plan.per_million = data.ConsumeIntegralInRange<std::uint32_t>(1, 20000);
  plan.seed = data.ConsumeIntegral<std::uint64_t>();
  plan.byte_limit = data.ConsumeBool() ? data.ConsumeIntegralInRange<std::size_t>(64 * 1024, 4 * 1024 * 1024) : 0;
  return plan;
}

std::string FailPlan::describe() const {
  std::string out;
  switch (mode) {
    case FaultAllocator::Mode::Off: out = "no allocation failures"; break;
    case FaultAllocator::Mode::FailNth: out = "fail allocation " + std::to_string(n); break;
    case FaultAllocator::Mode::FailFromNth: out = "fail every allocation from " + std::to_string(n); break;
    case FaultAllocator::Mode::FailRandomly:
      out = "fail allocations with probability " + std::to_string(per_million) + "/1e6 (seed " + std::to_string(seed) +
            ")";
      break;
  }
  if (byte_limit > 0) out += ", byte limit " + std::to_string(byte_limit);
  return out;
}

void FailPlan::apply(FaultAllocator& allocator) const {
  allocator.set_byte_limit(byte_limit);
  switch (mode) {
    case FaultAllocator::Mode::Off: allocator.disarm(); break;
    case FaultAllocator::Mode::FailNth: allocator.fail_nth(n); break;
    case FaultAllocator::Mode::FailFromNth: allocator.fail_from_nth(n); break;
    case FaultAllocator::Mode::FailRandomly: allocator.fail_randomly(per_million, seed); break;
  }
}

}  // namespace luahammer
