// Ops on states: create (also a throwaway one under a tight limit), close, register the
// tracked types, inspect the accounting.
#include <string>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::Value;

void create_state(Runtime& rt, const Op& op) {
  if (op.state >= rt.states.size()) return;
  VmState& vm = rt.states[op.state];
  if (op.b & 2) {
    // A throwaway state built under a limit that may be too small for it.
    rt.acted = true;
    build_under_limit(tight_state_limit(op.n), rt.options.instruction_budget);
    return;
  }
  if (vm.state && (!vm.owned || !vm.state->is_closed())) return;
  rt.acted = true;
  rt.retire(vm);
  vm = make_vm_state((op.b & 1) != 0, rt.options.memory_cap, rt.options.instruction_budget);
  apply_gc_mode(rt.program.gc, *vm.state);
}

void close_state(Runtime& rt, const Op& op) {
  VmState* vm = rt.state_at(op.state);
  if (vm == nullptr || !vm->owned) return;
  rt.close_and_check(*vm, "close_state");
}

void register_types(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) {
    if (op.n & 1) {
      // Registering a type twice is refused with a clean error.
      vm->state->register_type<Probe>("Probe", &describe_probe);
    } else {
      register_vm_types(*vm->state);
    }
  }
}

void inspect_state(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state); vm != nullptr && vm->owned) {
    check_memory_accounting(*vm->state, *vm->allocator, "inspect_state");
    rt.slots[op.b] = Value(static_cast<lua_Integer>(vm->state->live_references()));
  }
}

std::string detail_create_state(const Op& op) {
  return (op.b & 2) ? "  -- throwaway, under a tight limit" : (op.b & 1) ? "  -- thread-safe" : "";
}

std::string feature_create_state(const Op& op) { return (op.b & 2) ? "tight_state" : ""; }

std::string feature_register_types(const Op& op) { return (op.n & 1) ? "register_twice" : ""; }

}  // namespace luahammer::ops
