// Fuzzing a Lua C module luahammer has never seen (a `luaopen_<name>` function): open it
// in a sandboxed state, discover its API by walking what it returns (functions, nested
// tables, class tables that construct through __call, the classes it registers in the
// registry, and the methods and operators of the userdata and tables its functions
// return, an __index function probed by name), then run a call sequence decoded from
// the fuzz input: every Lua type as
// argument, results fed back as later arguments, calls inside coroutines, operators,
// hook plans, GC plans and allocation failpoints.
//
// Oracles: the sanitizers; Lua's API checks, which carry stack balance for C code (a C
// function that pushes past its stack, pops below its frame or returns more results than
// it pushed trips them: Lua is built with LUA_USE_APICHECK); every byte returned at
// lua_close. The harness's own frames under a protected call own no heap memory, so a
// leak LeakSanitizer reports is the module's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <luahammer/lua.hpp>

namespace luahammer {

struct ModuleSpec {
  const char* name;    // the module's name for `require` (e.g. "cjson")
  lua_CFunction open;  // its luaopen_ function
};

struct ModuleRunOptions {
  int max_steps = 48;                          // decoded steps per input
  std::size_t byte_limit = 96u << 20;          // the state's memory cap
  std::uint64_t instruction_budget = 2000000;  // Lua instructions per input (callbacks)
  bool trace = false;                          // print each step to stdout (for --explain)
};

// Runs one input. Returns 0 (libFuzzer's convention); a finding aborts with a report.
int run_module_input(const ModuleSpec& module, const std::uint8_t* data, std::size_t size,
                     const ModuleRunOptions& options = {});

// The API discovered when the module opens: the module table's functions and class
// tables ("cjson.encode", "lpeg.P", ...), then the registry's classes ("lpeg-pattern:__add",
// ...); methods behind an __index function are found while running, on the first object.
std::vector<std::string> discover_module_api(const ModuleSpec& module);

// The argument shapes learned from the module's own argument errors (once per process,
// deterministically): "lpeg.match(string|table|…, string)", one per callable whose first
// argument is checked. Calls draw their arguments from these three times in four.
std::vector<std::string> learned_argument_shapes(const ModuleSpec& module);

// Learns the module's argument shapes and object model now, once per process. Learning
// runs in a forked child: call this before anything starts threads (a fuzzing engine's
// LLVMFuzzerInitialize), since a child forked from a threaded process can deadlock on a
// lock another thread held. Later calls return at once.
void learn_module(const ModuleSpec& module);

// The object model learning found, for people: the module's functions, then per class
// (a metatable's __name or registry key) the callables that construct it, its methods,
// its properties (learned through its __newindex function) and its metamethods, each
// with its learned argument shape.
std::vector<std::string> describe_module_model(const ModuleSpec& module);

}  // namespace luahammer
