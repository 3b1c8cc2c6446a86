// Host functions and the error box: the metatables, the entry Lua calls, raising a
// pending C++ error as a Lua error.
#include "cxxlua/state.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"
#include "lua_exception.hpp"

namespace cxxlua {

// ---------------------------------------------------------------------------------------
// Error box and host function metatables

namespace internal {

const char kErrorBoxKey = 0;
thread_local lua_State* callback_state = nullptr;
const char kHostFunctionKey = 0;

FinalizerScope::FinalizerScope(StateCore* c) noexcept : core(c) { ++core->finalizer_depth; }
FinalizerScope::~FinalizerScope() { --core->finalizer_depth; }

namespace {

using Slot = std::shared_ptr<const Error>;

void destroy_error_slot(void* slot) noexcept { static_cast<Slot*>(slot)->~Slot(); }

int error_box_gc(lua_State* L) {
  FinalizerScope scope(StateCore::of(L));
  void* slot = lua_touserdata(L, 1);
  StateCore::of(L)->untrack_object(slot);
  destroy_error_slot(slot);
  return 0;
}

int error_box_tostring(lua_State* L) {
  const auto* slot = static_cast<std::shared_ptr<const Error>*>(lua_touserdata(L, 1));
  lua_pushstring(L, *slot ? (*slot)->what() : "callback error");
  return 1;
}

void new_metatable(lua_State* L, const void* key, const char* name, lua_CFunction gc, lua_CFunction tostring) {
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  if (tostring != nullptr) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

// Runs the callback with every C++ object scoped here; returns its result count or
// kRaisePending. Nothing in this frame survives into the lua_error that may follow.
int call_host_function(lua_State* L, bool& yield) {
  StateCore* core = StateCore::of(L);
  auto* box = static_cast<Box<HostCallback>*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::exception_ptr failure;
  core->yield_requested = false;
  try {
    CurrentThreadScope current(core, L);
    CallbackStateScope callback(L);
    StateHandle handle(core->shared_from_this());
    const int argc = lua_gettop(L);
    internal::ensure_stack(L, argc + 3);
    for (int i = 1; i <= argc; ++i) lua_pushvalue(L, i);
    MultiValue args = internal::pop_values(*core, L, argc);
    MultiValue results = box->get()(handle, args);
    const int count = static_cast<int>(results.size());
    // Canary missing_checkstack (sol2 #696): results pushed past the guaranteed slots
    // without lua_checkstack.
    if (!CXXLUA_CANARY(missing_checkstack)) internal::ensure_stack(L, count);
    for (const Value& value : results) internal::push_value(L, *core, value);
    yield = std::exchange(core->yield_requested, false);
    return count;
  }
  CXXLUA_LET_LUA_ERRORS_PASS
  catch (...) {
    failure = std::current_exception();
  }
  core->yield_requested = false;
  lua_settop(L, 0);
  set_raising(core, failure);
  failure = nullptr;
  return kRaisePending;
}

}  // namespace

// Raises core->raising as an error box. Called with no C++ object alive on the frame.
int raise_pending(lua_State* L) {
  StateCore* core = StateCore::of(L);
  if (core->closing()) {
    // Lua gives no finalizer to an object made while lua_close runs the last finalizers
    // (GCSTPCLS): a box would be freed without its __gc. Raise the message as a string.
    lua_pushstring(L, core->raising != nullptr ? core->raising->what() : "error lost while it was raised");
    core->raising = nullptr;
    return lua_error(L);
  }
  void* memory = lua_newuserdatauv(L, sizeof(Slot), 0);
  auto* slot = new (memory) Slot();
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kErrorBoxKey);
  lua_setmetatable(L, -2);
  *slot = std::move(core->raising);
  core->track_object(slot, &destroy_error_slot);
  return lua_error(L);
}

void set_raising(StateCore* core, const std::exception_ptr& exception) noexcept {
  try {
    try {
      std::rethrow_exception(exception);
    } catch (const Error& error) {
      auto cause = std::make_shared<const Error>(error);
      core->raising =
          std::make_shared<const Error>(ErrorKind::Callback, error.message(), std::string(), std::move(cause));
    } catch (const std::exception& error) {
      core->raising = std::make_shared<const Error>(ErrorKind::Callback, error.what());
    } catch (...) {
      core->raising = std::make_shared<const Error>(ErrorKind::Callback, "unknown C++ exception");
    }
  } catch (...) {
    core->raising = nullptr;  // out of memory describing it: raise_pending says "lost"
  }
}

int host_function_entry(lua_State* L) {
  bool yield = false;
  const int results = call_host_function(L, yield);
  if (results == kRaisePending) return raise_pending(L);
  if (yield) return lua_yield(L, results);  // resume's arguments become our results
  return results;
}

void install_metatables(lua_State* L) {
  new_metatable(L, &kErrorBoxKey, "cxxlua.error", &error_box_gc, &error_box_tostring);
  new_metatable(L, &kHostFunctionKey, "cxxlua.function", &destroy_box<HostCallback>, nullptr);
}

// Called inside a protected call (Box: nothing leaks whichever step fails).
void push_host_function(lua_State* L, HostCallback& callback) {
  push_boxed(L, &kHostFunctionKey, callback);
  lua_pushcclosure(L, &host_function_entry, 1);
}

}  // namespace internal

}  // namespace cxxlua
