// The library set that fuzzed and generated Lua code gets: base (without dofile,
// loadfile and print; `load` forced to text mode), coroutine, string, table, math, utf8.
// No io, os, package, require, debug, and no binary chunks: Lua bytecode is unsafe by
// design and not a binding bug.
#pragma once

#include <cxxlua/cxxlua.hpp>

namespace luahammer {

// Options for a sandboxed state (the caller may add an allocator, a limit, thread safety).
cxxlua::StateOptions sandbox_options();
// Removes what the safe libraries still expose that must not be reachable.
void apply_sandbox(const cxxlua::StateHandle& state);

}  // namespace luahammer
