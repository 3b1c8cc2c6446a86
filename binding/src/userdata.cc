#include "cxxlua/userdata.hpp"

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"

namespace cxxlua {

namespace {

// Marks a metatable as one of ours (metatable[&kUserDataMarker] = true).
const char kUserDataMarker = 0;

int userdata_gc(lua_State* L) {
  auto* header = static_cast<UserDataHeader*>(lua_touserdata(L, 1));
  if (header == nullptr) return 0;
  // Canary destroy_unconstructed (LuaBridge #209): __gc destroys an object whose
  // constructor threw.
  if (CXXLUA_CANARY(destroy_unconstructed) && header->status == UserDataStatus::Empty) {
    header->status = UserDataStatus::Constructed;
  }
  StateCore::of(L)->untrack_object(header);
  if (header->status != UserDataStatus::Constructed) return 0;
  internal::FinalizerScope scope(StateCore::of(L));
  // Canary resurrected_userdata (rlua #19): the object is destroyed but not marked, so a
  // userdata resurrected by another finalizer is used after destruction.
  if (!CXXLUA_CANARY(resurrected_userdata)) header->status = UserDataStatus::Destructed;
  header->destroy(header);
  return 0;
}

// __index: methods table (upvalue 1), getters table (2), fallback function or nil (3).
int userdata_index(lua_State* L) {
  lua_settop(L, 2);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
  }
  lua_pop(L, 1);
  if (lua_isnil(L, lua_upvalueindex(3))) return 0;
  lua_pushvalue(L, lua_upvalueindex(3));
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 1);
  return 1;
}

// __newindex: setters table (upvalue 1), fallback function or nil (2).
int userdata_newindex(lua_State* L) {
  lua_settop(L, 3);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) {
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    lua_call(L, 2, 0);
    return 0;
  }
  lua_pop(L, 1);
  if (lua_isnil(L, lua_upvalueindex(2))) {
    return luaL_error(L, "cannot set field '%s' of this userdata",
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
  }
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, 1);
  lua_call(L, 3, 0);
  return 0;
}

void push_callbacks_table(lua_State* L, std::vector<std::pair<std::string, HostCallback>>& callbacks) {
  lua_createtable(L, 0, static_cast<int>(callbacks.size()));
  for (auto& [name, callback] : callbacks) {
    internal::push_host_function(L, callback);
    lua_setfield(L, -2, name.c_str());
  }
}

}  // namespace

namespace internal {

bool type_registered(lua_State* L, const void* key) noexcept {
  const bool registered = lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TNIL;
  lua_pop(L, 1);
  return registered;
}

namespace {

// Builds the type's metatable and stores it in the registry (one protected call).
void register_protected(lua_State* L, const void* key, UserDataSpec& spec) {
  internal::protect(L, 0, 0, [&](lua_State* state) {
    lua_createtable(state, 0, 8);
    const int metatable = lua_gettop(state);
    for (auto& [name, callback] : spec.metamethods) {
      internal::push_host_function(state, callback);
      lua_setfield(state, metatable, name.c_str());
    }
    push_callbacks_table(state, spec.methods);
    push_callbacks_table(state, spec.getters);
    if (spec.index_fallback) {
      internal::push_host_function(state, spec.index_fallback);
    } else {
      lua_pushnil(state);
    }
    lua_pushcclosure(state, &userdata_index, 3);
    lua_setfield(state, metatable, "__index");
    if (!spec.setters.empty() || spec.newindex_fallback) {
      push_callbacks_table(state, spec.setters);
      if (spec.newindex_fallback) {
        internal::push_host_function(state, spec.newindex_fallback);
      } else {
        lua_pushnil(state);
      }
      lua_pushcclosure(state, &userdata_newindex, 2);
      lua_setfield(state, metatable, "__newindex");
    }
    // Ours last: a user "__gc" must not replace the destructor.
    lua_pushcfunction(state, &userdata_gc);
    lua_setfield(state, metatable, "__gc");
    lua_pushstring(state, spec.name.c_str());
    lua_setfield(state, metatable, "__name");
    lua_pushboolean(state, 0);
    lua_setfield(state, metatable, "__metatable");
    lua_pushboolean(state, 1);
    lua_rawsetp(state, metatable, &kUserDataMarker);
    lua_rawsetp(state, LUA_REGISTRYINDEX, key);
    return 0;
  });
}

}  // namespace

void register_userdata_type(StateCore& core, lua_State* L, const void* key, UserDataSpec& spec) {
  (void)core;
  if (type_registered(L, key)) {
    throw Error(ErrorKind::Runtime, "userdata type '" + spec.name + "' is already registered");
  }
  // Canary guard_error_path (docs/bugs.md S1, mlua #477): a guard sized for the success path,
  // expecting the new metatable left on top (+1); a hook raising inside the protected
  // call leaves nothing, and the guard finds one value fewer than it expected.
  if (CXXLUA_CANARY(guard_error_path)) {
    {
      StackGuard guard(L, "register_type", StackPolicy::Checking, 1);
      register_protected(L, key, spec);
      lua_rawgetp(L, LUA_REGISTRYINDEX, key);
    }
    lua_pop(L, 1);
    return;
  }
  register_protected(L, key, spec);
}

void* create_userdata_block(StateCore& core, lua_State* L, const void* key, std::size_t size,
                            void (*destroy)(UserDataHeader*) noexcept, int& ref) {
  void* block = nullptr;
  int taken = LUA_NOREF;
  try {
    internal::protect(L, 0, 0, [&](lua_State* state) {
      auto* header = static_cast<UserDataHeader*>(lua_newuserdatauv(state, size, 1));
      header->type_key = key;
      header->destroy = destroy;
      header->status = UserDataStatus::Empty;
      header->borrows = 0;
      if (lua_rawgetp(state, LUA_REGISTRYINDEX, key) == LUA_TNIL && !CXXLUA_CANARY(finalizer_skipped)) {
        luaL_error(state, "userdata type not registered");
      }
      // Canary finalize_missed (piccolo #45): an object created while the collector runs
      // finalizers is never registered for finalization.
      if (CXXLUA_CANARY(finalizer_skipped)) {
        lua_pop(state, 1);
        lua_createtable(state, 0, 0);  // the real metatable comes later (canary_set_metatable_late)
      } else if (CXXLUA_CANARY(finalize_missed) && lua_gc(state, LUA_GCISRUNNING) < 0) {
        lua_pop(state, 1);
        lua_createtable(state, 0, 0);
      }
      lua_setmetatable(state, -2);
      taken = core.take_reference(state);
      block = header;
      return 0;
    });
  } catch (...) {
    core.release_reference(taken);  // a hook raised on the way out of the protected call
    throw;
  }
  ref = taken;
  return block;
}

UserDataHeader* userdata_header(StateCore& core, lua_State* L, int ref, const void* key) {
  if (ref == LUA_NOREF || core.closed())
    throw Error(ErrorKind::StateClosed, "userdata used after its state was closed");
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  auto* header = static_cast<UserDataHeader*>(lua_touserdata(L, -1));
  bool ours = false;
  if (header != nullptr && lua_type(L, -1) == LUA_TUSERDATA && lua_getmetatable(L, -1)) {
    ours = lua_rawgetp(L, -1, &kUserDataMarker) == LUA_TBOOLEAN;
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  if (!ours) throw Error(ErrorKind::Conversion, "value is not a userdata created by cxxlua");
  if (key != nullptr && header->type_key != key) {
    throw Error(ErrorKind::Conversion, "userdata is of another type");
  }
  return header;
}

void canary_set_metatable_late(StateCore& core, lua_State* L, int ref, const void* key) {
  (void)core;
  internal::protect(L, 0, 0, [&](lua_State* state) {
    lua_rawgeti(state, LUA_REGISTRYINDEX, ref);
    lua_rawgetp(state, LUA_REGISTRYINDEX, key);
    lua_setmetatable(state, -2);
    return 0;
  });
}

void begin_borrow(StateCore& core, UserDataHeader* header, bool mutable_borrow) {
  if (header->status == UserDataStatus::Destructed) throw Error(ErrorKind::Destructed, "userdata has been destructed");
  if (header->status == UserDataStatus::Empty) throw Error(ErrorKind::Destructed, "userdata was never constructed");
  if (mutable_borrow) {
    if (header->borrows != 0) throw Error(ErrorKind::Borrow, "userdata is already borrowed");
    header->borrows = -1;
  } else {
    if (header->borrows < 0) throw Error(ErrorKind::Borrow, "userdata is already mutably borrowed");
    ++header->borrows;
  }
  ++core.active_borrows;
}

void end_borrow(StateCore& core, UserDataHeader* header, bool mutable_borrow) noexcept {
  // The borrow count lives in Lua memory: in a thread-safe state it changes under the lock.
  std::unique_lock<std::recursive_mutex> guard(core.lock(), std::defer_lock);
  if (core.thread_safe()) guard.lock();
  if (mutable_borrow) {
    header->borrows = 0;
  } else {
    --header->borrows;
  }
  --core.active_borrows;
}

void destroy_tracked_userdata(void* memory) noexcept {
  auto* header = static_cast<UserDataHeader*>(memory);
  if (header->status != UserDataStatus::Constructed) return;
  header->status = UserDataStatus::Destructed;
  header->destroy(header);
}

void userdata_constructed(StateCore& core, UserDataHeader* header) {
  header->status = UserDataStatus::Constructed;
  Entry entry(core, "create_userdata");
  core.track_object(header, &destroy_tracked_userdata);
}

}  // namespace internal

void AnyUserData::destroy() const {
  Entry entry(core_ref(), "AnyUserData::destroy");
  UserDataHeader* header = internal::userdata_header(*core_, entry.L(), ref_, nullptr);
  if (header->status != UserDataStatus::Constructed) return;  // idempotent
  if (header->borrows != 0) throw Error(ErrorKind::Borrow, "cannot destroy a borrowed userdata");
  core_->untrack_object(header);
  // Canary double_destroy (sol2 #1009, #227): destroyed now and again by __gc.
  if (!CXXLUA_CANARY(double_destroy)) header->status = UserDataStatus::Destructed;
  header->destroy(header);
}

bool AnyUserData::is_destructed() const {
  Entry entry(core_ref(), "AnyUserData::is_destructed");
  return internal::userdata_header(*core_, entry.L(), ref_, nullptr)->status != UserDataStatus::Constructed;
}

}  // namespace cxxlua
