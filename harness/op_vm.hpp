// The op-program VM: decodes bytes (FuzzedDataProvider) into a program of ops on the
// binding core over a set of live slots (states, handles, host-stored functions, userdata
// of tracked types, coroutines, async calls), runs it with the oracles checked after
// every op, then drops everything, closes the states and checks the ledgers balance.
// A decoded program prints as readable text (explain), so a minimized crash reads as a
// story. Deterministic: same bytes, same program, same run.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <cxxlua/cxxlua.hpp>

#include "harness/chaos.hpp"
#include "harness/lua_generator.hpp"

namespace luahammer {

enum class OpCode : std::uint8_t {
  CreateState,
  CloseState,
  RegisterTypes,
  CreateTable,
  CreateString,
  CreateHostFunction,
  LoadSnippet,
  LoadGenerated,
  SetField,
  GetField,
  RawSetField,
  CopyHandle,
  MoveHandle,
  DropHandle,
  CallFunction,
  StoreFunction,
  CallStored,
  DropStored,
  CreateUserdata,
  StoreInUserdata,
  BorrowUserdata,
  TakeUserdata,
  DestroyUserdata,
  CreateCoroutine,
  ResumeCoroutine,
  CloseCoroutine,
  StartAsync,
  PollAsync,
  WakeAll,
  DropAsync,
  SetHookPlan,
  RemoveHook,
  GcCollect,
  GcStep,
  GcMode,
  SetFailPlan,
  ClearFailPlan,
  SetMemoryLimit,
  InspectTable,
  ThreadHook,
  ResetCoroutine,
  BlockOn,
  InspectUserdata,
  InspectState,
  Count
};
const char* op_name(OpCode code) noexcept;
const char* snippet_name(std::uint32_t n) noexcept;  // what LoadSnippet with operand n loads
// The byte limit CreateState's throwaway variant (b & 2) builds a state under, 1 to 33 KiB.
constexpr std::size_t tight_state_limit(std::uint32_t n) noexcept { return 1024 + (n % 64) * 512; }

struct Op {
  OpCode code = OpCode::CreateState;
  std::uint8_t state = 0;  // which state slot
  std::uint8_t a = 0;      // value slot / variant
  std::uint8_t b = 0;      // second slot / variant
  std::uint32_t n = 0;     // a number operand
  std::string text;        // Lua source for loads
  HookPlan hook;
  FailPlan fail;
};

struct ProgramOptions {
  std::size_t max_ops = 48;
  std::size_t max_states = 2;
  bool thread_safe_states = true;  // CreateState may ask for a thread-safe state
  // The ops this program draws from; empty: all of them. Targets concentrate here.
  std::vector<OpCode> menu;
  bool leading_hook_plan = false;  // op 1 sets a hook plan decoded from the input
  GeneratorOptions generator{12, 2, 4, true};
};

struct OpProgram {
  std::vector<Op> ops;
  GcPlan gc;
  std::string explain() const;
  static OpProgram decode(const std::uint8_t* data, std::size_t size, const ProgramOptions& options = {});
};

struct RunOptions {
  std::uint64_t instruction_budget = 200000;  // per Lua entry, via a count hook
  std::size_t memory_cap = 16 * 1024 * 1024;  // per state, bytes
  std::uint64_t op_budget = 4096;             // liveness: ops + async polls per program
  bool check_every_op = true;
  // A state shared with other workers (thread driver): used as state slot 0; the program
  // neither closes it nor checks its ledgers (the owner does).
  std::shared_ptr<cxxlua::State> shared_state;
  std::shared_ptr<struct HostContext> shared_host;
  std::shared_ptr<std::atomic<std::uint64_t>> shared_instructions;
  // Called before each op (the thread driver's watchdog hears progress through it).
  std::function<void(const Op&)> on_op;
};

struct RunStats {
  std::uint64_t ops = 0;
  std::uint64_t clean_errors = 0;  // binding errors the ops turned into Error: expected
  std::uint64_t idle_ops = 0;      // ops that found nothing to act on
};

// Runs the program; a violated invariant aborts (or goes to the violation handler).
RunStats run_program(const OpProgram& program, const RunOptions& options = {});

}  // namespace luahammer
