#include <stdexcept>

#include "fuzz_target.hpp"

namespace luahammer::fuzz {

namespace {

TargetSpec spec_stack_balance() {
  TargetSpec spec;
  spec.program.max_ops = 48;
  return spec;
}

TargetSpec spec_hooks() {
  TargetSpec spec;
  spec.program.leading_hook_plan = true;
  spec.program.max_states = 1;
  spec.program.menu = {
      OpCode::RegisterTypes,  OpCode::CreateUserdata,  OpCode::SetField,        OpCode::RawSetField,
      OpCode::GetField,       OpCode::CreateTable,     OpCode::CreateString,    OpCode::CreateHostFunction,
      OpCode::CallFunction,   OpCode::LoadSnippet,     OpCode::LoadGenerated,   OpCode::SetHookPlan,
      OpCode::RemoveHook,     OpCode::CreateCoroutine, OpCode::ResumeCoroutine, OpCode::CopyHandle,
      OpCode::GcCollect,      OpCode::CloseState,      OpCode::CreateState,     OpCode::ThreadHook,
      OpCode::ResetCoroutine, OpCode::StartAsync,      OpCode::BlockOn,         OpCode::CreateScalar,
      OpCode::FailSoon};
  return spec;
}

TargetSpec spec_stored_functions() {
  TargetSpec spec;
  spec.program.max_states = 3;
  spec.program.menu = {OpCode::CreateState,
                       OpCode::CloseState,
                       OpCode::LoadSnippet,
                       OpCode::LoadGenerated,
                       OpCode::CreateHostFunction,
                       OpCode::StoreFunction,
                       OpCode::CallStored,
                       OpCode::DropStored,
                       OpCode::CreateUserdata,
                       OpCode::StoreInUserdata,
                       OpCode::CopyHandle,
                       OpCode::MoveHandle,
                       OpCode::DropHandle,
                       OpCode::CallFunction,
                       OpCode::CreateCoroutine,
                       OpCode::ResumeCoroutine,
                       OpCode::CreateTable,
                       OpCode::SetField,
                       OpCode::GetField,
                       OpCode::GcCollect,
                       OpCode::GcStep,
                       OpCode::ResetCoroutine,
                       OpCode::InspectState,
                       OpCode::CreateScalar,
                       OpCode::TableAnyKey,
                       OpCode::FailSoon};
  return spec;
}

TargetSpec spec_finalizers() {
  TargetSpec spec;
  spec.program.menu = {
      OpCode::CreateUserdata,  OpCode::TakeUserdata,   OpCode::DestroyUserdata, OpCode::BorrowUserdata,
      OpCode::StoreInUserdata, OpCode::LoadSnippet,    OpCode::LoadGenerated,   OpCode::CallFunction,
      OpCode::GcCollect,       OpCode::GcStep,         OpCode::GcMode,          OpCode::CreateCoroutine,
      OpCode::ResumeCoroutine, OpCode::CloseCoroutine, OpCode::DropHandle,      OpCode::CloseState,
      OpCode::SetFailPlan,     OpCode::ClearFailPlan,  OpCode::RegisterTypes,   OpCode::InspectUserdata,
      OpCode::SetMemoryLimit,  OpCode::InspectState,   OpCode::FailSoon};
  return spec;
}

TargetSpec spec_coroutines_async() {
  TargetSpec spec;
  spec.program.menu = {
      OpCode::CreateCoroutine, OpCode::ResumeCoroutine, OpCode::CloseCoroutine, OpCode::StartAsync,
      OpCode::PollAsync,       OpCode::WakeAll,         OpCode::DropAsync,      OpCode::LoadSnippet,
      OpCode::LoadGenerated,   OpCode::CallFunction,    OpCode::SetHookPlan,    OpCode::RemoveHook,
      OpCode::GcCollect,       OpCode::DropHandle,      OpCode::CopyHandle,     OpCode::CreateHostFunction,
      OpCode::ThreadHook,      OpCode::ResetCoroutine,  OpCode::BlockOn,        OpCode::CreateScalar,
      OpCode::FailSoon};
  return spec;
}

TargetSpec spec_lua_programs() {
  TargetSpec spec;
  spec.program.max_ops = 16;
  spec.program.generator = GeneratorOptions{40, 3, 6, true};
  spec.program.menu = {OpCode::LoadGenerated, OpCode::CallFunction, OpCode::StartAsync,  OpCode::PollAsync,
                       OpCode::WakeAll,       OpCode::SetHookPlan,  OpCode::SetFailPlan, OpCode::ClearFailPlan,
                       OpCode::GcCollect,     OpCode::GcStep,       OpCode::GcMode,      OpCode::SetMemoryLimit,
                       OpCode::FailSoon};
  return spec;
}

struct OpTarget {
  const char* name;
  TargetSpec (*spec)();
};

// The op rows of the registry, each with its spec function.
#define LUAHAMMER_FUZZ_TARGET_op(name) {#name, &spec_##name},
#define LUAHAMMER_FUZZ_TARGET_own(name)
#define LUAHAMMER_FUZZ_TARGET_comparison(name)
#define LUAHAMMER_FUZZ_TARGET(name, kind, smoke_runs, what) LUAHAMMER_FUZZ_TARGET_##kind(name)
const OpTarget kOpTargets[] = {
#include "targets.def"
};
#undef LUAHAMMER_FUZZ_TARGET
#undef LUAHAMMER_FUZZ_TARGET_op
#undef LUAHAMMER_FUZZ_TARGET_own
#undef LUAHAMMER_FUZZ_TARGET_comparison

}  // namespace

const std::vector<std::string>& op_target_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const OpTarget& target : kOpTargets) out.emplace_back(target.name);
    return out;
  }();
  return names;
}

TargetSpec spec_for(const std::string& name) {
  for (const OpTarget& target : kOpTargets) {
    if (name == target.name) return target.spec();
  }
  throw std::invalid_argument("no op-program fuzz target named '" + name + "'");
}

}  // namespace luahammer::fuzz
