// lua_source: raw bytes as Lua source through the binding's load + call path (text mode),
// in a sandboxed state with an instruction budget and a memory cap: the baseline every
// Lua fuzzer has, here with the binding's oracles on.
#include <string>

#include <luahammer/core/input_guard.hpp>
#include <luahammer/core/oracles.hpp>
#include <luahammer/opvm/vm_host.hpp>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  luahammer::install_terminate_handler();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const luahammer::InputGuard guard;
  const std::string source(reinterpret_cast<const char*>(data), size);
  luahammer::VmState vm = luahammer::make_vm_state(false, 16 * 1024 * 1024, 200000);
  try {
    cxxlua::Function chunk = vm.state->load(source, "=input");
    luahammer::reset_budget(vm);
    (void)chunk.call();
  } catch (const cxxlua::Error&) {
    // syntax and runtime errors are not findings
  }
  luahammer::check_and_close(vm, "running the input");
  return 0;
}

std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size) {
  return "-- Lua source:\n" + std::string(reinterpret_cast<const char*>(data), size) + "\n";
}
