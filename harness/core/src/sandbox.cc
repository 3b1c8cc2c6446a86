#include <luahammer/core/sandbox.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace luahammer {

// The sandbox through the C API: wrappers over the standard functions, each a C closure
// holding the raw function as its first upvalue. It was a Lua script once; loading that
// script (even precompiled) was a third of every fresh state's cost under ASan. Each
// refusal is a clean Lua error, as any other runtime error of fuzzed code, with the
// caller's position (as `error(message, 2)` from a Lua wrapper gave).
namespace {

// Calls the raw function (upvalue 1) with the values from `first` to the top; returns
// what it returns.
int call_raw(lua_State* L, int first) {
  const int base = first - 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, first);
  lua_call(L, lua_gettop(L) - first, LUA_MULTRET);
  return lua_gettop(L) - base;
}

// Text chunks only, with the caller's globals unless an environment is given; a chunk
// name of the loader's own ("=load …"), so no loaded chunk poses as one of the harness's.
int sandboxed_load(lua_State* L) {
  // Arguments after the mode (the environment) pass as given: an explicit nil is no globals.
  lua_settop(L, std::max(lua_gettop(L), 3));
  if (!lua_isnil(L, 3)) {
    std::size_t length = 0;
    const char* mode = lua_type(L, 3) == LUA_TSTRING ? lua_tolstring(L, 3, &length) : nullptr;
    if (mode == nullptr || std::memchr(mode, 't', length) == nullptr) {
      lua_pushnil(L);
      lua_pushliteral(L, "attempt to load a binary chunk (the sandbox loads text only)");
      return 2;
    }
  }
  if (lua_isnil(L, 2)) {
    lua_pushliteral(L, "=(load)");
  } else {
    lua_pushliteral(L, "=load ");
    luaL_tolstring(L, 2, nullptr);
    lua_concat(L, 2);
  }
  lua_replace(L, 2);
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  return call_raw(L, 1);
}

int no_output(lua_State*) { return 0; }

// Lua code's warnings never read as Lua's own ("error in __gc …" counts failed finalizers).
int sandboxed_warn(lua_State* L) {
  const int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    const int type = lua_type(L, i);
    if (type != LUA_TSTRING && type != LUA_TNUMBER) {
      return luaL_error(L, "bad argument #%d to 'warn' (string expected, got %s)", i, lua_typename(L, type));
    }
  }
  if (n == 0) return luaL_error(L, "bad argument #1 to 'warn' (string expected, got no value)");
  lua_pushliteral(L, "(sandboxed code) ");
  lua_insert(L, 1);
  (void)call_raw(L, 1);
  return 0;
}

// A finalizer written in Lua runs in a coroutine of its own: Lua calls __gc with hooks
// off, a coroutine has them on, so the instruction budget bounds it (also at close). A
// yield inside it resumes it again; an error leaves as the finalizer's error.
int bounded_finalizer(lua_State* L) {
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 2);
  int results = 0;
  int status = lua_resume(co, L, 1, &results);
  while (status == LUA_YIELD) {
    lua_pop(co, results);
    status = lua_resume(co, L, 0, &results);
  }
  if (status != LUA_OK) {
    lua_xmove(co, L, 1);
    return lua_error(L);
  }
  return 0;
}

int sandboxed_setmetatable(lua_State* L) {
  lua_settop(L, 2);
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) == LUA_TFUNCTION && lua_tocfunction(L, -1) != &bounded_finalizer) {
      lua_pushcclosure(L, &bounded_finalizer, 1);
      lua_pushliteral(L, "__gc");
      lua_insert(L, -2);
      lua_rawset(L, 2);
    }
    lua_settop(L, 2);
  }
  return call_raw(L, 1);
}

// Argument `index` as string.find and table.move read it (an integer, or a number or
// string with an integer value), or `otherwise` (the raw function then refuses it).
lua_Integer integer_argument(lua_State* L, int index, lua_Integer otherwise) {
  if (index == 0 || index > lua_gettop(L)) return otherwise;
  int is_integer = 0;
  const lua_Integer value = lua_tointegerx(L, index, &is_integer);
  return is_integer != 0 ? value : otherwise;
}

// Pattern matching backtracks: about length^(quantifiers + 1) steps in one C call. The
// length is the subject's from `init` on, as the raw function counts it (init_at: the
// argument holding init, 0 for gsub).
int bounded_pattern(lua_State* L, const char* name, int init_at) {
  const bool plain = std::strcmp(name, "find") == 0 && lua_toboolean(L, 4) != 0;
  if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING && !plain) {
    std::size_t pattern_length = 0;
    const char* pattern = lua_tolstring(L, 2, &pattern_length);
    lua_Integer quantifiers = 0;
    for (std::size_t i = 0; i < pattern_length; ++i) {
      if (pattern[i] == '*' || pattern[i] == '+' || pattern[i] == '-' || pattern[i] == '?') ++quantifiers;
    }
    const auto subject = static_cast<lua_Integer>(lua_rawlen(L, 1));
    const lua_Integer init = integer_argument(L, init_at, 1);
    const lua_Integer start = init > 0 ? init : (init == 0 || init < -subject) ? 1 : subject + init + 1;
    const lua_Integer length = subject - start + 1;
    if (length > 1 &&
        static_cast<double>(quantifiers + 1) * std::log(static_cast<double>(length)) > 26 * std::log(2.0)) {
      return luaL_error(L, "string.%s: pattern too costly for the sandbox (%I quantifiers over %I bytes)", name,
                        static_cast<LUAI_UACINT>(quantifiers), static_cast<LUAI_UACINT>(length));
    }
  }
  return call_raw(L, 1);
}

int bounded_find(lua_State* L) { return bounded_pattern(L, "find", 3); }
int bounded_match(lua_State* L) { return bounded_pattern(L, "match", 3); }
int bounded_gmatch(lua_State* L) { return bounded_pattern(L, "gmatch", 3); }
int bounded_gsub(lua_State* L) { return bounded_pattern(L, "gsub", 0); }

// table.move loops over its range in C, whatever the table holds.
int bounded_move(lua_State* L) {
  lua_settop(L, std::max(lua_gettop(L), 4));
  const lua_Integer first = integer_argument(L, 2, 0);
  const lua_Integer last = integer_argument(L, 3, 0);
  if (last > first && static_cast<lua_Unsigned>(last) - static_cast<lua_Unsigned>(first) >= 1048576) {
    return luaL_error(L, "table.move: a range of more than 2^20 elements is refused by the sandbox");
  }
  return call_raw(L, 1);
}

// Replaces t[name] (t at the top) by `wrapper` over its current value.
void wrap_field(lua_State* L, const char* name, lua_CFunction wrapper) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setfield(L, -2, name);
}

}  // namespace

void open_safe_libraries(lua_State* L) {
  static const luaL_Reg libraries[] = {{LUA_GNAME, luaopen_base},        {LUA_COLIBNAME, luaopen_coroutine},
                                       {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
                                       {LUA_MATHLIBNAME, luaopen_math},  {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const auto& library : libraries) {
    luaL_requiref(L, library.name, library.func, 1);
    lua_pop(L, 1);
  }
}

void apply_sandbox(lua_State* L) {
  lua_pushglobaltable(L);
  wrap_field(L, "load", &sandboxed_load);
  wrap_field(L, "warn", &sandboxed_warn);
  wrap_field(L, "setmetatable", &sandboxed_setmetatable);
  lua_pushnil(L);
  lua_setfield(L, -2, "dofile");
  lua_pushnil(L);
  lua_setfield(L, -2, "loadfile");
  lua_pushcfunction(L, &no_output);
  lua_setfield(L, -2, "print");
  if (lua_getfield(L, -1, LUA_STRLIBNAME) == LUA_TTABLE) {
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    wrap_field(L, "find", &bounded_find);
    wrap_field(L, "match", &bounded_match);
    wrap_field(L, "gmatch", &bounded_gmatch);
    wrap_field(L, "gsub", &bounded_gsub);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, -1, LUA_TABLIBNAME) == LUA_TTABLE) wrap_field(L, "move", &bounded_move);
  lua_pop(L, 2);
}

}  // namespace luahammer
