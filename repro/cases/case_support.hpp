// What the regression repro cases share: a sandboxed state with the VM's host API whose
// every ledger (stack, references, finalizers, memory) is checked when the case ends.
#pragma once

#include <gtest/gtest.h>

#include <luahammer/opvm/binding_oracles.hpp>
#include <luahammer/opvm/vm_host.hpp>

namespace luahammer::cases {

class CheckedState {
 public:
  explicit CheckedState(bool thread_safe = false) : vm_(make_vm_state(thread_safe, 32 * 1024 * 1024, 2000000)) {
    install_terminate_handler();
  }
  cxxlua::State& state() { return *vm_.state; }
  VmState& vm() { return vm_; }
  // Drops what the host holds, collects, and checks every ledger; the state is closed.
  void finish(const char* what) { check_and_close(vm_, what); }

 private:
  VmState vm_;
};

}  // namespace luahammer::cases
