// Ledgers kept inside the Lua library luahammer builds, so they work on any binding (no
// help from the binding needed): they see every luaL_ref and luaL_unref, and Lua's own
// lists of collectable objects. Off unless a state is watched (watch()); the module fuzzer
// watches each state it makes.
//
//  - registry references: per watched state and per table, the slots luaL_ref handed out
//    and not yet given back; luaL_unref of a slot that is not live (released twice, or
//    never taken) is reported at once, with the binding's frame on the stack;
//  - finalizers: userdata whose metatable has a __gc that Lua will never call (the __gc
//    was put in the metatable after the metatable was set on the userdata; Lua marks an
//    object for finalization only when its metatable is set).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <luahammer/lua.hpp>

namespace luahammer::lua_ledgers {

// A report: prints "luahammer: <oracle>: <what>" and aborts, unless a handler is set
// (tests); the handler returns and the ledger goes on.
using Handler = void (*)(const char* oracle, const char* what);
Handler set_handler(Handler handler);

// Starts keeping the ledgers for L's state (any thread of it); lua_close ends them.
void watch(lua_State* L);
bool watched(lua_State* L);

// Whether Lua is calling a finalizer (__gc) in L's global state now. False where this
// Lua's internals do not say (before 5.4.4's GC stop bits).
bool running_finalizer(lua_State* L);

// Slots of L's registry taken with luaL_ref and not given back.
std::size_t live_references(lua_State* L);

// Userdata with a __gc in their metatable that are not marked for finalization: Lua
// will never call that __gc. One entry a metatable (its address, as lua_topointer gives
// it), with the number of such userdata; metatables in `ignore` are skipped. Call after
// two full collections (an object finalized and resurrected is unmarked again).
struct Unfinalized {
  const void* metatable;
  std::size_t count;
};
std::vector<Unfinalized> unfinalized_userdata(lua_State* L, const std::vector<const void*>& ignore = {});

}  // namespace luahammer::lua_ledgers
