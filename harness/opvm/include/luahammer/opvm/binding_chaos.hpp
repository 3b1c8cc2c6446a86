// The chaos plans (core) carried out through cxxlua's own API: a hook plan becomes a
// cxxlua::HookCallback (so the binding's hook machinery is what gets hammered), a GC plan
// runs through the StateHandle's collector calls.
#pragma once

#include <cxxlua/cxxlua.hpp>

#include <luahammer/core/chaos.hpp>

namespace luahammer {

cxxlua::HookTriggers binding_triggers(const HookPlan::Triggers& triggers);
// A callback acting on the plan's events (a HookPlanRun of its own); ReplaceHook installs
// the plan's replacement through the binding's set_hook from inside the hook.
cxxlua::HookCallback hook_callback(const HookPlan& plan);
void set_hook_plan(const cxxlua::StateHandle& state, const HookPlan& plan);
void set_hook_plan(const cxxlua::Thread& thread, const HookPlan& plan);

// The plan's initial mode, and its steps and collections between ops.
void apply_gc_mode(const GcPlan& plan, const cxxlua::StateHandle& state);
void gc_between_ops(const GcPlan& plan, const cxxlua::StateHandle& state, std::uint64_t op_index);

}  // namespace luahammer
