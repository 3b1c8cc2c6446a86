// The op VM's running program (private to the op VM): the live slots every op acts on and
// the helpers ops share. An op is a function ops::<name>(Runtime&, const Op&) in
// src/ops/<area>.cc, named by its row in ops.def.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <luahammer/opvm/binding_chaos.hpp>
#include <luahammer/opvm/binding_oracles.hpp>
#include <luahammer/opvm/op_vm.hpp>
#include <luahammer/opvm/vm_host.hpp>
#include <cxxlua/testing.hpp>

namespace luahammer {

inline constexpr std::size_t kSlots = 8;

class Runtime {
 public:
  Runtime(const OpProgram& program, const RunOptions& options);
  RunStats run();

  // --- what ops use ------------------------------------------------------------------
  // The state an op names, or the next live one (operands resolve to something usable, so
  // random programs spend their ops on the binding, not on empty slots); with every state
  // closed, a fresh one where the op points. Null if there is none to act on.
  VmState* state_at(std::size_t index);
  // The first slot holding a T, starting at the one the op names.
  template <class T>
  const T* slot_as(std::uint8_t index) {
    for (std::size_t i = 0; i < kSlots; ++i) {
      if (const T* found = slots[(index + i) % kSlots].template get_if<T>()) {
        acted = true;
        return found;
      }
    }
    return nullptr;
  }
  static cxxlua::StateHandle handle_of(const cxxlua::Reference& ref) { return cxxlua::testing::state_of(ref); }
  void close_and_check(VmState& vm, const char* after);
  // Keeps a closed state's allocator and ledgers alive until the end: dead handles still
  // point at its core, and Probe objects that were taken point at its ledger.
  void retire(VmState& vm);
  VmState fresh_state(bool thread_safe);
  void poll_call(std::size_t index);
  void reset_budgets();

  const OpProgram& program;
  const RunOptions& options;
  std::vector<VmState> states;
  std::vector<VmState> retired;
  std::array<cxxlua::Value, kSlots> slots;
  std::vector<cxxlua::Function> stored;  // functions kept in a host container
  std::vector<cxxlua::Thread> hooked;    // coroutines given hooks of their own
  std::vector<std::unique_ptr<cxxlua::AsyncCall>> calls;
  RunStats stats;
  std::uint64_t polls = 0;
  bool acted = false;          // the current op found something to act on
  bool outcome_noted = false;  // the op marked its shape outcome itself (a poll that swallowed an error)

 private:
  void execute(const Op& op);
  void between_ops();
  void drive_async_calls();
  void finish();
};

namespace ops {
#define LUAHAMMER_OP(code, Name, name, payload, flags, detail, feature) void name(Runtime& rt, const Op& op);
#include <luahammer/opvm/ops.def>
#undef LUAHAMMER_OP
// explain notes and seed features (the detail and feature columns of ops.def)
std::string detail_create_state(const Op& op);
std::string detail_load_snippet(const Op& op);
std::string detail_hook_plan(const Op& op);
std::string detail_thread_hook(const Op& op);
std::string detail_fail_plan(const Op& op);
std::string detail_fail_soon(const Op& op);
std::string feature_create_state(const Op& op);
std::string feature_register_types(const Op& op);
std::string feature_inspect_table(const Op& op);
std::string feature_load_snippet(const Op& op);
std::string feature_create_userdata(const Op& op);
std::string feature_borrow_userdata(const Op& op);
std::string feature_hook_plan(const Op& op);
std::string feature_set_memory_limit(const Op& op);
std::string feature_call_many_args(const Op& op);
std::string feature_create_scalar(const Op& op);
std::string feature_table_any_key(const Op& op);
std::string feature_fail_soon(const Op& op);
}  // namespace ops

}  // namespace luahammer
