// Programs for the shape table's cells at the end of chains of ops that random programs
// and grown seeds rarely line up (shape_coverage.hpp).
#include <luahammer/opvm/shape_coverage.hpp>

#include <cxxlua/error.hpp>

namespace luahammer {
namespace {

Op op_of(OpCode code, std::uint8_t a = 0, std::uint8_t b = 0, std::uint32_t n = 0, std::uint8_t state = 0) {
  Op o;
  o.code = code;
  o.state = state;
  o.a = a;
  o.b = b;
  o.n = n;
  return o;
}

// A hook plan set first, as the targets with a leading plan decode one: collecting at
// every instruction, or doing nothing that matters (removing itself at its first event).
Op hook_plan(bool collecting) {
  Op o = op_of(OpCode::SetHookPlan);
  o.hook.triggers.every_nth_instruction = 1;
  o.hook.event_number = 1;
  o.hook.repeat_every = collecting ? 1 : 0;
  o.hook.action = collecting ? HookPlan::Action::CollectGarbage : HookPlan::Action::RemoveHook;
  return o;
}

constexpr int outcome(cxxlua::ErrorKind kind) { return 1 + static_cast<int>(kind); }

}  // namespace

std::vector<ShapeChain> shape_chains() {
  std::vector<ShapeChain> chains;
  // Finalizers that call back into the binding (snippet 44, finalizers_left_for_later),
  // run by a hook's collection: Function::call_values and Thread::close from a host
  // function, below a hook.
  chains.push_back({"finalizers_below_a_collecting_hook",
                    {{}, {hook_plan(true), op_of(OpCode::LoadSnippet, 0, 0, 44), op_of(OpCode::CallFunction, 0, 1, 0)}},
                    {{ShapeEntry::CallFromHost, ShapeDim::Context, kContextHook},
                     {ShapeEntry::CloseFromHost, ShapeDim::Context, kContextHook}}});
  // A coroutine suspended in a scope whose __close fails (snippet 45), closed by the
  // driver while every allocation fails: Thread::close ends in a memory error.
  chains.push_back({"closing_a_failing_close_without_memory",
                    {{},
                     {hook_plan(false), op_of(OpCode::LoadSnippet, 0, 0, 45), op_of(OpCode::CallFunction, 0, 1, 0),
                      op_of(OpCode::FailSoon, 0, 0, 8), op_of(OpCode::CloseCoroutine, 1)}},
                    {{ShapeEntry::ThreadClose, ShapeDim::Outcome, outcome(cxxlua::ErrorKind::Memory)}}});
  // A Probe of state 0 holding a function of state 1, called by Lua (snippet 43,
  // call_probe_stored) with a value of state 0: a wrong-state error from a host function.
  chains.push_back({"a_probe_holding_another_states_function",
                    {{},
                     {hook_plan(false), op_of(OpCode::CreateState, 0, 0, 0, 1), op_of(OpCode::LoadSnippet, 0, 0, 39, 1),
                      op_of(OpCode::CreateUserdata, 1, 0, 2), op_of(OpCode::StoreInUserdata, 1, 0),
                      op_of(OpCode::LoadSnippet, 2, 0, 43), op_of(OpCode::CallFunction, 2, 1, 2)}},
                    {{ShapeEntry::CallFromHost, ShapeDim::Outcome, outcome(cxxlua::ErrorKind::WrongState)}}});
  // The first userdata of its type in a fresh state, made while every allocation fails:
  // the creation fails before the type is registered (a binding that registers a type
  // lazily does it inside the first creation, mlua 4e92ea3).
  chains.push_back({"creating_a_userdata_without_memory",
                    {{}, {hook_plan(false), op_of(OpCode::FailSoon, 0, 0, 8), op_of(OpCode::CreateUserdata, 1, 0, 2)}},
                    {{ShapeEntry::CreateUserdata, ShapeDim::Registration, kRegistrationFailed},
                     {ShapeEntry::CreateUserdata, ShapeDim::Outcome, outcome(cxxlua::ErrorKind::Memory)}}});
  // A coroutine over a loop with no yield of its own (snippet 23), a hook plan on it that
  // yields every fifth instruction, resumed until it finishes: suspended by a hook's yield
  // in the middle of a Lua function, then resumed after it (mlua #723's shape). Random
  // programs need the hook set on the coroutine's slot between its creation and its resume.
  Op yielding_hook = op_of(OpCode::ThreadHook, 1);
  yielding_hook.hook.triggers.every_nth_instruction = 5;
  yielding_hook.hook.repeat_every = 1;
  yielding_hook.hook.action = HookPlan::Action::Yield;
  chains.push_back({"a_coroutine_a_hook_suspends",
                    {{},
                     {hook_plan(false), op_of(OpCode::LoadSnippet, 0, 0, 23), op_of(OpCode::CreateCoroutine, 0, 1),
                      yielding_hook, op_of(OpCode::ResumeCoroutine, 1, 2, 7)}},
                    {{ShapeEntry::ThreadResume, ShapeDim::Suspension, kSuspensionHookYielded},
                     {ShapeEntry::ThreadResume, ShapeDim::Suspension, kSuspensionFromHook}}});
  return chains;
}

}  // namespace luahammer
