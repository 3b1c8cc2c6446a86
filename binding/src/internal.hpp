// Pieces shared by the binding's .cc files only.
#pragma once

#include <new>

#include <luahammer/lua.hpp>

#include "cxxlua/internal/core.hpp"

namespace cxxlua {
// The binding's own sources name the internal types unqualified.
using internal::Entry;
using internal::RawValue;
using internal::StackGuard;
using internal::StackPolicy;
using internal::StateCore;
}  // namespace cxxlua

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

// A C++ object owned by a userdata (host callbacks, async factories, futures). The box
// gets its metatable (__gc = destroy_box<T>) before the object is constructed in it, so a
// memory error at any step leaks nothing and __gc never destroys what was never built.
template <class T>
struct Box {
  bool constructed;
  alignas(T) unsigned char storage[sizeof(T)];
  T& get() noexcept { return *std::launder(reinterpret_cast<T*>(storage)); }
};

template <class T>
void destroy_box_object(void* memory) noexcept {
  auto* box = static_cast<Box<T>*>(memory);
  if (box->constructed) {
    box->constructed = false;
    box->get().~T();
  }
}

// __gc of a box.
template <class T>
int destroy_box(lua_State* L) {
  FinalizerScope scope(StateCore::of(L));
  void* box = lua_touserdata(L, 1);
  StateCore::of(L)->untrack_object(box);
  destroy_box_object<T>(box);
  return 0;
}

// Marks a box's object as built: tracked until destroyed (see StateCore::track_object).
template <class T>
void box_constructed(lua_State* L, Box<T>* box) noexcept {
  box->constructed = true;
  StateCore::of(L)->track_object(box, &destroy_box_object<T>);
}

// Pushes an empty box with the metatable registered at `key`; may raise (allocation).
template <class T>
Box<T>* push_box(lua_State* L, const void* key) {
  auto* box = static_cast<Box<T>*>(lua_newuserdatauv(L, sizeof(Box<T>), 0));
  box->constructed = false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
  lua_setmetatable(L, -2);
  return box;
}

// Pushes a box holding `value`, moved in once the box is complete.
template <class T>
Box<T>* push_boxed(lua_State* L, const void* key, T& value) {
  Box<T>* box = push_box<T>(L, key);
  new (box->storage) T(std::move(value));
  box_constructed(L, box);
  return box;
}

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
