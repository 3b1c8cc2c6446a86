#include <stdexcept>

#include "fuzz_target.hpp"

namespace luahammer::fuzz {

namespace {

TargetSpec stack_balance() {
  TargetSpec spec;
  spec.program.max_ops = 48;
  return spec;
}

TargetSpec hooks() {
  TargetSpec spec;
  spec.program.leading_hook_plan = true;
  spec.program.max_states = 1;
  spec.program.menu = {
      OpCode::RegisterTypes,  OpCode::CreateUserdata,  OpCode::SetField,        OpCode::RawSetField,
      OpCode::GetField,       OpCode::CreateTable,     OpCode::CreateString,    OpCode::CreateHostFunction,
      OpCode::CallFunction,   OpCode::LoadSnippet,     OpCode::LoadGenerated,   OpCode::SetHookPlan,
      OpCode::RemoveHook,     OpCode::CreateCoroutine, OpCode::ResumeCoroutine, OpCode::CopyHandle,
      OpCode::GcCollect,      OpCode::CloseState,      OpCode::CreateState,     OpCode::ThreadHook,
      OpCode::ResetCoroutine, OpCode::StartAsync,      OpCode::BlockOn};
  return spec;
}

TargetSpec stored_functions() {
  TargetSpec spec;
  spec.program.max_states = 3;
  spec.program.menu = {OpCode::CreateState,     OpCode::CloseState,         OpCode::LoadSnippet,
                       OpCode::LoadGenerated,   OpCode::CreateHostFunction, OpCode::StoreFunction,
                       OpCode::CallStored,      OpCode::DropStored,         OpCode::CreateUserdata,
                       OpCode::StoreInUserdata, OpCode::CopyHandle,         OpCode::MoveHandle,
                       OpCode::DropHandle,      OpCode::CallFunction,       OpCode::CreateCoroutine,
                       OpCode::ResumeCoroutine, OpCode::CreateTable,        OpCode::SetField,
                       OpCode::GetField,        OpCode::GcCollect,          OpCode::GcStep,
                       OpCode::ResetCoroutine,  OpCode::InspectState};
  return spec;
}

TargetSpec finalizers() {
  TargetSpec spec;
  spec.program.menu = {
      OpCode::CreateUserdata,  OpCode::TakeUserdata,   OpCode::DestroyUserdata, OpCode::BorrowUserdata,
      OpCode::StoreInUserdata, OpCode::LoadSnippet,    OpCode::LoadGenerated,   OpCode::CallFunction,
      OpCode::GcCollect,       OpCode::GcStep,         OpCode::GcMode,          OpCode::CreateCoroutine,
      OpCode::ResumeCoroutine, OpCode::CloseCoroutine, OpCode::DropHandle,      OpCode::CloseState,
      OpCode::SetFailPlan,     OpCode::ClearFailPlan,  OpCode::RegisterTypes,   OpCode::InspectUserdata,
      OpCode::SetMemoryLimit,  OpCode::InspectState};
  return spec;
}

TargetSpec coroutines_async() {
  TargetSpec spec;
  spec.program.menu = {
      OpCode::CreateCoroutine, OpCode::ResumeCoroutine, OpCode::CloseCoroutine, OpCode::StartAsync,
      OpCode::PollAsync,       OpCode::WakeAll,         OpCode::DropAsync,      OpCode::LoadSnippet,
      OpCode::LoadGenerated,   OpCode::CallFunction,    OpCode::SetHookPlan,    OpCode::RemoveHook,
      OpCode::GcCollect,       OpCode::DropHandle,      OpCode::CopyHandle,     OpCode::CreateHostFunction,
      OpCode::ThreadHook,      OpCode::ResetCoroutine,  OpCode::BlockOn};
  return spec;
}

TargetSpec lua_programs() {
  TargetSpec spec;
  spec.program.max_ops = 16;
  spec.program.generator = GeneratorOptions{40, 3, 6, true};
  spec.program.menu = {OpCode::LoadGenerated, OpCode::CallFunction, OpCode::StartAsync,  OpCode::PollAsync,
                       OpCode::WakeAll,       OpCode::SetHookPlan,  OpCode::SetFailPlan, OpCode::ClearFailPlan,
                       OpCode::GcCollect,     OpCode::GcStep,       OpCode::GcMode,      OpCode::SetMemoryLimit};
  return spec;
}

}  // namespace

const std::vector<std::string>& op_target_names() {
  static const std::vector<std::string> names = {"stack_balance",    "hooks",       "stored_functions", "finalizers",
                                                 "coroutines_async", "lua_programs"};
  return names;
}

TargetSpec spec_for(const std::string& name) {
  if (name == "stack_balance") return stack_balance();
  if (name == "hooks") return hooks();
  if (name == "stored_functions") return stored_functions();
  if (name == "finalizers") return finalizers();
  if (name == "coroutines_async") return coroutines_async();
  if (name == "lua_programs") return lua_programs();
  throw std::invalid_argument("no op-program fuzz target named '" + name + "'");
}

}  // namespace luahammer::fuzz
