// lua_source: raw bytes as Lua source through the binding's load + call path (text mode),
// in a sandboxed state with an instruction budget and a memory cap: the baseline every
// Lua fuzzer has, here with the binding's oracles on.
#include <string>

#include "harness/oracles.hpp"
#include "harness/vm_host.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  luahammer::install_terminate_handler();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  luahammer::VmState vm = luahammer::make_vm_state(false, 16 * 1024 * 1024, 200000);
  try {
    cxxlua::Function chunk = vm.state->load(source, "=input");
    *vm.instructions = 0;
    (void)chunk.call();
  } catch (const cxxlua::Error&) {
    // syntax and runtime errors are not findings
  }
  luahammer::check_stack_at_rest(*vm.state, "running the input");
  vm.allocator->set_byte_limit(0);
  vm.state->remove_hook();
  {
    std::lock_guard<std::mutex> lock(vm.host->mutex);
    vm.host->stored.clear();
    vm.host->to_complete.clear();
  }
  for (int i = 0; i < 2; ++i) vm.state->collect_garbage();
  (void)vm.state->create_table();
  vm.references->check_none_live("running the input");
  vm.state->close();
  luahammer::check_memory_returned(*vm.allocator, "close");
  vm.host->finalizers.check_all_destroyed("close");
  return 0;
}

std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size) {
  return "-- Lua source:\n" + std::string(reinterpret_cast<const char*>(data), size) + "\n";
}
