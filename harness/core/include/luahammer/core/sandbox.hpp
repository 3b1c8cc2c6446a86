// The library set that fuzzed and generated Lua code gets: base (without dofile,
// loadfile and print; `load` text only, a mode without "t" refused, chunks named "=load …"),
// coroutine, string, table, math, utf8. No io, os, package, require, debug, and no binary
// chunks: Lua bytecode is unsafe by design and not a binding bug. Bounds where the
// instruction budget's hook cannot reach: Lua finalizers run in a coroutine of their own
// (hooks on), costly patterns and huge table.move ranges are refused; `warn` from Lua code
// is prefixed so it never reads as Lua's own "error in __gc" warning.
#pragma once

#include <luahammer/lua.hpp>

namespace luahammer {

// Opens the safe libraries into L: base, coroutine, string, table, math, utf8.
void open_safe_libraries(lua_State* L);
// Removes what the safe libraries still expose that must not be reachable and adds the
// bounds, through the C API (C closures over the standard functions; no Lua code runs).
// Raises a Lua error when memory runs out: call it protected.
void apply_sandbox(lua_State* L);

}  // namespace luahammer
