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

// Makes L the thread entries use while a callback, hook or async poll runs on it.
struct CurrentThreadScope {
  CurrentThreadScope(StateCore* c, lua_State* L) noexcept : core(c), saved(c->current_) { c->current_ = L; }
  ~CurrentThreadScope() { core->current_ = saved; }
  CurrentThreadScope(const CurrentThreadScope&) = delete;
  CurrentThreadScope& operator=(const CurrentThreadScope&) = delete;
  StateCore* core;
  lua_State* saved;
};

// The lua_State of the host function running on this thread (for the longjmp canary).
extern thread_local lua_State* callback_state;
struct CallbackStateScope {
  explicit CallbackStateScope(lua_State* L) noexcept : saved(callback_state) { callback_state = L; }
  ~CallbackStateScope() { callback_state = saved; }
  CallbackStateScope(const CallbackStateScope&) = delete;
  CallbackStateScope& operator=(const CallbackStateScope&) = delete;
  lua_State* saved;
};

// Host function errors: describe the C++ exception into core->raising, then raise it as
// an error box from a frame that owns nothing.
constexpr int kRaisePending = -1;
void set_raising(StateCore* core, const std::exception_ptr& exception) noexcept;
int raise_pending(lua_State* L);

// Async support (async.cc).
bool is_pending_marker(lua_State* L, int idx);
void install_async(lua_State* L, bool has_coroutine_library);
void push_async_function(lua_State* L, AsyncFactory& factory);

}  // namespace cxxlua::internal
