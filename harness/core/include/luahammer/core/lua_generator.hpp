// Lua program generator: bytes -> a valid, always-terminating Lua 5.4 program (every loop
// is bounded, calls only go to functions defined earlier, so there is no recursion).
// It exercises what bindings meet: <close> and <const> locals, goto, closures and
// upvalues, coroutines, pcall/xpcall/error with non-string values, metatables and their
// metamethods (__gc, __close, __index, __newindex, __call, __eq, __lt, __le, __len,
// __concat, __mode), collectgarbage, the string and table libraries, and the host API
// the op-program VM exposes in the global `host` (see HostApi below).
// Deterministic: the same bytes give the same program.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

namespace luahammer {

struct GeneratorOptions {
  int max_statements = 40;  // top-level statements
  int max_depth = 3;        // nesting of blocks and expressions
  int max_loop_iterations = 6;
  bool use_host_api = true;  // calls into `host.*`
};

std::string generate_lua_program(FuzzedDataProvider& data, const GeneratorOptions& options = {});
std::string generate_lua_program(const std::uint8_t* bytes, std::size_t size, const GeneratorOptions& options = {});

// The host functions generated programs may call (the VM installs them as `host.*`):
//   host.echo(...) -> ...           host.add(a, b) -> a + b (integers)
//   host.concat(s, n) -> s .. n     host.fail(v) raises v as a callback error
//   host.make(n) -> userdata with :get() :set(n) :store(f) :call_stored(...) and __close
//   host.store(f) -> slot           host.call_stored(slot, ...) -> ...
//   host.drop_stored(slot)          host.pause(v) yields v from the calling coroutine
//   host.fetch(n) -> n * 2, an async function that is pending until woken

}  // namespace luahammer
