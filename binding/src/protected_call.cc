// Protected calls and the values that cross them: run_protected, errors popped as
// cxxlua::Error, raw values to and from the stack.
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
// Protected calls

namespace internal {
namespace {

int invoke_body(ProtectedCall* call, lua_State* L) {
  try {
    return call->invoke(call->body, L);
  }
  CXXLUA_LET_LUA_ERRORS_PASS
  catch (...) {
    call->exception = std::current_exception();
    return 0;
  }
}

int protected_trampoline(lua_State* L) {
  auto* call = static_cast<ProtectedCall*>(lua_touserdata(L, 1));
  lua_remove(L, 1);
  return invoke_body(call, L);
}

int traceback_handler(lua_State* L) {
  if (lua_type(L, 1) == LUA_TSTRING) luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

}  // namespace

void run_protected(lua_State* L, int nargs, int nresults, ProtectedCall& call) {
  if (!lua_checkstack(L, 3)) {
    lua_pop(L, nargs);
    throw Error(ErrorKind::StackOverflow, "no room on the Lua stack for a protected call");
  }
  const int base = lua_gettop(L) - nargs;  // the values below the arguments stay
  int handler = 0;
  if (call.traceback) {
    lua_pushcfunction(L, &traceback_handler);
    handler = base + 1;
  }
  lua_pushcfunction(L, &protected_trampoline);
  lua_pushlightuserdata(L, &call);
  lua_rotate(L, base + 1, call.traceback ? 3 : 2);
  const int status = lua_pcall(L, nargs + 1, nresults, handler);
  if (handler != 0) lua_remove(L, handler);
  if (status != LUA_OK) throw pop_error(L, status);
  if (call.exception) {
    lua_settop(L, base);
    std::rethrow_exception(call.exception);
  }
}

Error pop_error(lua_State* L, int status) {
  const int type = lua_type(L, -1);
  std::string message;
  std::string traceback;
  // Looking for an error box takes two slots (a coroutine may die with a full stack).
  if (type == LUA_TUSERDATA && lua_checkstack(L, 2) && lua_getmetatable(L, -1)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &internal::kErrorBoxKey);
    const bool is_box = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (is_box) {
      auto* box = static_cast<std::shared_ptr<const Error>*>(lua_touserdata(L, -1));
      std::shared_ptr<const Error> error = *box;
      lua_pop(L, 1);
      if (error) return *error;
      return Error(ErrorKind::Callback, "error lost while it was raised");
    }
  }
  if (type == LUA_TSTRING) {
    std::size_t length = 0;
    const char* text = lua_tolstring(L, -1, &length);
    message.assign(text, length);
    const std::size_t at = message.find("\nstack traceback:");
    if (at != std::string::npos) {
      traceback = message.substr(at + 1);
      message.resize(at);
    }
  } else if (type == LUA_TNUMBER) {
    char buffer[64];
    if (lua_isinteger(L, -1)) {
      std::snprintf(buffer, sizeof buffer, "%" PRId64, static_cast<int64_t>(lua_tointeger(L, -1)));
    } else {
      std::snprintf(buffer, sizeof buffer, "%.14g", static_cast<double>(lua_tonumber(L, -1)));
    }
    message = buffer;
  } else {
    message = std::string("(error object is a ") + lua_typename(L, type) + " value)";
  }
  lua_pop(L, 1);
  switch (status) {
    case LUA_ERRMEM: return Error(ErrorKind::Memory, message.empty() ? "not enough memory" : message);
    case LUA_ERRSYNTAX: return Error(ErrorKind::Syntax, message);
    default: return Error(ErrorKind::Runtime, message, traceback);
  }
}

constexpr int kRawInteger = -2;

void raw_from_stack(StateCore& core, lua_State* L, int idx, RawValue& out) {
  idx = lua_absindex(L, idx);
  const int type = lua_type(L, idx);
  switch (type) {
    case LUA_TNONE:
    case LUA_TNIL: out.type = LUA_TNIL; return;
    case LUA_TBOOLEAN:
      out.type = type;
      out.boolean = lua_toboolean(L, idx) != 0;
      return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        out.type = kRawInteger;
        out.integer = lua_tointeger(L, idx);
      } else {
        out.type = LUA_TNUMBER;
        out.number = lua_tonumber(L, idx);
      }
      return;
    case LUA_TLIGHTUSERDATA:
      out.type = type;
      out.pointer = lua_touserdata(L, idx);
      return;
    default:
      // A copy for luaL_ref, and luaL_ref's own slot: a call's results may fill the stack
      // to its last guaranteed slot (a Lua function returning 20 or more values).
      luaL_checkstack(L, 2, "no room to turn a value into a handle");
      lua_pushvalue(L, idx);
      out.ref = core.take_reference(L);
      out.type = type;
      return;
  }
}

Value value_from_raw(const std::shared_ptr<StateCore>& core, const RawValue& raw) noexcept {
  switch (raw.type) {
    case LUA_TBOOLEAN: return Value(raw.boolean);
    case kRawInteger: return Value(raw.integer);
    case LUA_TNUMBER: return Value(raw.number);
    case LUA_TLIGHTUSERDATA: return Value(LightUserData{raw.pointer});
    case LUA_TSTRING: return Value(String(core, raw.ref));
    case LUA_TTABLE: return Value(Table(core, raw.ref));
    case LUA_TFUNCTION: return Value(Function(core, raw.ref));
    case LUA_TTHREAD: return Value(Thread(core, raw.ref));
    case LUA_TUSERDATA: return Value(AnyUserData(core, raw.ref));
    default: return Value();
  }
}

void release_raws(StateCore& core, const RawValue* raws, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    switch (raws[i].type) {
      case LUA_TSTRING:
      case LUA_TTABLE:
      case LUA_TFUNCTION:
      case LUA_TTHREAD:
      case LUA_TUSERDATA: core.release_reference(raws[i].ref); break;
      default: break;
    }
  }
}

void ensure_stack(lua_State* L, int n) {
  if (n < 0 || !lua_checkstack(L, n)) {
    throw Error(ErrorKind::StackOverflow, "cannot grow the Lua stack by " + std::to_string(n) + " values");
  }
}

void push_value(lua_State* L, const StateCore& core, const Value& value) {
  switch (value.type()) {
    case Type::Nil: lua_pushnil(L); return;
    case Type::Boolean: lua_pushboolean(L, *value.get_if<bool>()); return;
    case Type::Integer: lua_pushinteger(L, *value.get_if<lua_Integer>()); return;
    case Type::Number: lua_pushnumber(L, *value.get_if<lua_Number>()); return;
    case Type::LightUserData: lua_pushlightuserdata(L, value.get_if<LightUserData>()->pointer); return;
    default: value.reference()->push(L, &core); return;
  }
}

MultiValue pop_values(StateCore& core, lua_State* L, int count) {
  MultiValue values;
  values.reserve(static_cast<std::size_t>(count));
  std::vector<RawValue> raws(static_cast<std::size_t>(count));
  int done = 0;
  try {
    protect(L, count, 0, [&](lua_State* state) {
      for (int i = 1; i <= count; ++i) {
        raw_from_stack(core, state, i, raws[static_cast<std::size_t>(i - 1)]);
        done = i;
      }
      return 0;
    });
  } catch (...) {
    release_raws(core, raws.data(), static_cast<std::size_t>(done));
    throw;
  }
  const auto shared = core.shared_from_this();
  for (const RawValue& raw : raws) values.push_back(value_from_raw(shared, raw));
  return values;
}

}  // namespace internal

}  // namespace cxxlua
