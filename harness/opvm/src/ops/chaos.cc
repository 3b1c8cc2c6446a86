// Chaos ops: hook plans (state and coroutine), the collector, allocation failures, limits.
#include <string>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::Thread;

void set_hook_plan(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) luahammer::set_hook_plan(*vm->state, op.hook);
}

void remove_hook(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) vm->state->remove_hook();
}

void thread_hook(Runtime& rt, const Op& op) {
  // A hook of one coroutine only, set or removed (its pin must outlive neither).
  if (const Thread* t = rt.slot_as<Thread>(op.a)) {
    if (op.n & 1) {
      t->remove_hook();
    } else {
      // Its hook pins it: recorded first (the copy may raise: a hook plan can raise
      // in the copy's protected call), removed at the end before the ledger check.
      Thread thread = *t;
      rt.hooked.push_back(std::move(thread));
      rt.hooked.back().set_hook(binding_triggers(op.hook.triggers), hook_callback(op.hook));
    }
  }
}

void gc_collect(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) vm->state->collect_garbage();
}

void gc_step(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) (void)vm->state->gc_step(static_cast<int>(op.n % 64));
}

void gc_mode(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) {
    if (op.n & 1)
      vm->state->set_gc_generational();
    else
      vm->state->set_gc_incremental();
  }
}

void set_fail_plan(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state); vm != nullptr && vm->owned) op.fail.apply(*vm->allocator);
}

// An allocation failure inside the calls that come next: the k-th allocation from now
// fails (k = 1 + n % 8), once or, with n & 8, every one from then on. A fail plan's own
// count (up to 4000) rarely lands inside one call; this puts it in the next one or two.
void fail_soon(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state); vm != nullptr && vm->owned) {
    const std::uint64_t k = 1 + op.n % 8;
    if (op.n & 8)
      vm->allocator->fail_from_nth(k);
    else
      vm->allocator->fail_nth(k);
  }
}

std::string detail_fail_soon(const Op& op) {
  return "  -- allocation " + std::to_string(1 + op.n % 8) + " from now fails" +
         ((op.n & 8) ? ", and every one after it" : "");
}

std::string feature_fail_soon(const Op& op) { return (op.n & 8) ? "from_then_on" : "once"; }

void clear_fail_plan(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state); vm != nullptr && vm->owned) {
    lift_limits(*vm, rt.options.memory_cap);
  }
}

void set_memory_limit(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state); vm != nullptr && vm->owned) {
    const std::size_t limit = std::min<std::size_t>(rt.options.memory_cap, 64 * 1024 + (op.n >> 1) * 128u);
    // Odd: the binding's own limit (StateOptions::memory_limit), even: the allocator's.
    if (op.n & 1)
      vm->state->set_memory_limit(limit);
    else
      vm->allocator->set_byte_limit(limit);
  }
}

std::string detail_hook_plan(const Op& op) { return "  -- " + op.hook.describe(); }

std::string detail_thread_hook(const Op& op) {
  return "  -- " + ((op.n & 1) ? std::string("remove") : op.hook.describe());
}

std::string detail_fail_plan(const Op& op) { return "  -- " + op.fail.describe(); }

std::string feature_hook_plan(const Op& op) { return std::string("hook_") + HookPlan::action_name(op.hook.action); }

std::string feature_set_memory_limit(const Op& op) { return (op.n & 1) ? "binding_limit" : "allocator_limit"; }

}  // namespace luahammer::ops
