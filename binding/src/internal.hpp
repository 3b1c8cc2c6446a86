// Pieces shared by the binding's .cc files only.
#pragma once

#include <luahammer/lua.hpp>

#include "cxxlua/state.hpp"

namespace cxxlua::internal {

// Registry keys (addresses of these objects) for the binding's own metatables.
extern const char kErrorBoxKey;
extern const char kHostFunctionKey;

// The C function behind every host function.
int host_function_entry(lua_State* L);
// Creates the binding's metatables and opens libraries; inside a protected call.
void install_metatables(lua_State* L);

// Finalizer depth scope for __gc handlers of ours.
struct FinalizerScope {
  explicit FinalizerScope(StateCore* c) noexcept;
  ~FinalizerScope();
  FinalizerScope(const FinalizerScope&) = delete;
  FinalizerScope& operator=(const FinalizerScope&) = delete;
  StateCore* core;
};
void push_host_function(lua_State* L, HostCallback& callback);

}  // namespace cxxlua::internal
