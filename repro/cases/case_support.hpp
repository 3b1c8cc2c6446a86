// What the regression repro cases share: a sandboxed state with the VM's host API whose
// every ledger (stack, references, finalizers, memory) is checked when the case ends.
#pragma once

#include <gtest/gtest.h>

#include "harness/oracles.hpp"
#include "harness/vm_host.hpp"

namespace luahammer::cases {

class CheckedState {
 public:
  explicit CheckedState(bool thread_safe = false)
      : vm_(make_vm_state(thread_safe, 32 * 1024 * 1024, 2000000)) {
    install_terminate_handler();
  }
  cxxlua::State& state() { return *vm_.state; }
  VmState& vm() { return vm_; }
  // Drops what the host holds, collects, and checks every ledger; the state is closed.
  void finish(const char* what) {
    vm_.allocator->disarm();
    vm_.allocator->set_byte_limit(0);
    vm_.state->remove_hook();
    {
      std::lock_guard<std::mutex> lock(vm_.host->mutex);
      vm_.host->stored.clear();
      vm_.host->to_complete.clear();
    }
    for (int i = 0; i < 3; ++i) vm_.state->collect_garbage();
    (void)vm_.state->create_table();
    check_stack_at_rest(*vm_.state, what);
    vm_.references->check_none_live(what);
    vm_.state->close();
    check_memory_returned(*vm_.allocator, what);
    vm_.host->finalizers.check_all_destroyed(what);
  }

 private:
  VmState vm_;
};

}  // namespace luahammer::cases
