#include <luahammer/opvm/binding_chaos.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#include <luahammer/opvm/shape_coverage.hpp>

namespace luahammer {

using cxxlua::HookAction;
using cxxlua::HookEvent;
using cxxlua::StateHandle;

cxxlua::HookTriggers binding_triggers(const HookPlan::Triggers& triggers) {
  return cxxlua::HookTriggers{.on_calls = triggers.on_calls,
                              .on_returns = triggers.on_returns,
                              .every_line = triggers.every_line,
                              .every_nth_instruction = triggers.every_nth_instruction};
}

namespace {

// What a hook plan does at an event where it acts.
HookAction act(const HookPlanRun& run, const StateHandle& state) {
  const std::uint64_t n = run.events();
  switch (run.plan().action) {
    case HookPlan::Action::Raise: return HookAction::error("hook plan: raise at event " + std::to_string(n));
    case HookPlan::Action::Yield: return HookAction::yield();
    case HookPlan::Action::CollectGarbage: state.collect_garbage(); return HookAction::resume();
    case HookPlan::Action::ReplaceHook: {
      const HookPlan next = run.plan().replacement();
      state.set_hook(binding_triggers(next.triggers), hook_callback(next));
      return HookAction::resume();
    }
    case HookPlan::Action::RemoveHook: state.remove_hook(); return HookAction::resume();
    case HookPlan::Action::Throw:
      // A std::exception, or (every other event) an exception of no standard type.
      if (n % 2 == 0) throw static_cast<int>(n);
      throw std::runtime_error("hook plan: throw at event " + std::to_string(n));
  }
  return HookAction::resume();
}

}  // namespace

cxxlua::HookCallback hook_callback(const HookPlan& plan) {
  auto run = std::make_shared<HookPlanRun>(plan);
  return [run](StateHandle& state, const HookEvent&) -> HookAction {
    if (!run->next_event_acts()) return HookAction::resume();
    // The shape table's HookCallback row: the thread the hook runs on, how the plan ended.
    note_calling_context(ShapeEntry::HookCallback, state);
    return with_outcome(ShapeEntry::HookCallback, [&] { return act(*run, state); });
  };
}

void set_hook_plan(const StateHandle& state, const HookPlan& plan) {
  state.set_hook(binding_triggers(plan.triggers), hook_callback(plan));
}

void set_hook_plan(const cxxlua::Thread& thread, const HookPlan& plan) {
  thread.set_hook(binding_triggers(plan.triggers), hook_callback(plan));
}

namespace {
struct BindingGc {
  const StateHandle& state;
  void step(int kilobytes) { (void)state.gc_step(kilobytes); }
  void collect() { state.collect_garbage(); }
  void set_generational(bool on) {
    if (on) {
      state.set_gc_generational();
    } else {
      state.set_gc_incremental();
    }
  }
};
}  // namespace

void apply_gc_mode(const GcPlan& plan, const StateHandle& state) {
  BindingGc gc{state};
  gc.set_generational(plan.generational);
}

void gc_between_ops(const GcPlan& plan, const StateHandle& state, std::uint64_t op_index) {
  BindingGc gc{state};
  plan.between_ops(gc, op_index);
}

}  // namespace luahammer
