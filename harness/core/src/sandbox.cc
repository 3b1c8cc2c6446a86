#include <luahammer/core/sandbox.hpp>

#include <cstring>

namespace luahammer {

// Bounds that hold where the instruction budget cannot: Lua runs finalizers with hooks
// off, and one call of a C function (a pattern match, table.move) runs without any hook.
// Each refusal is a clean Lua error, as any other runtime error of fuzzed code.
const char* const kSandboxSource = R"lua(
  local raw_load, raw_setmetatable, raw_warn = load, setmetatable, warn
  local create, resume, status = coroutine.create, coroutine.resume, coroutine.status
  local type, error, select, tostring, tonumber, rawget, rawset = type, error, select, tostring, tonumber, rawget, rawset
  local log = math.log

  -- Text chunks only, with the caller's globals unless an environment is given; a chunk
  -- name of the loader's own ("=load …"), so no loaded chunk poses as one of the harness's.
  load = function(chunk, name, mode, ...)
    if mode ~= nil and (type(mode) ~= "string" or not mode:find("t", 1, true)) then
      return nil, "attempt to load a binary chunk (the sandbox loads text only)"
    end
    local chunkname = name == nil and "=(load)" or "=load " .. tostring(name)
    return raw_load(chunk, chunkname, "t", ...)
  end
  dofile, loadfile, print = nil, nil, function() end
  string.dump = nil

  -- Lua code's warnings never read as Lua's own ("error in __gc …" counts failed finalizers).
  warn = function(...)
    for i = 1, select("#", ...) do
      local piece = select(i, ...)
      if type(piece) ~= "string" and type(piece) ~= "number" then
        error("bad argument #" .. i .. " to 'warn' (string expected, got " .. type(piece) .. ")", 2)
      end
    end
    if select("#", ...) == 0 then error("bad argument #1 to 'warn' (string expected, got no value)", 2) end
    raw_warn("(sandboxed code) ", ...)
  end

  -- A finalizer written in Lua runs in a coroutine of its own: Lua calls __gc with hooks
  -- off, a coroutine has them on, so the instruction budget bounds it (also at close).
  local bounded = raw_setmetatable({}, {__mode = "k"})
  local function bound(finalizer)
    local function run(object)
      local co = create(finalizer)
      local ok, err = resume(co, object)
      while ok and status(co) == "suspended" do ok, err = resume(co) end
      if not ok then error(err, 0) end
    end
    bounded[run] = true
    return run
  end
  setmetatable = function(t, mt)
    if type(mt) == "table" then
      local gc = rawget(mt, "__gc")
      if type(gc) == "function" and not bounded[gc] then rawset(mt, "__gc", bound(gc)) end
    end
    return raw_setmetatable(t, mt)
  end

  -- Pattern matching backtracks: about length^(quantifiers + 1) steps in one C call.
  local raw_gsub, min = string.gsub, math.min
  local function bounded_pattern(name, raw, init_at)
    return function(...)
      local s, pattern = ...
      local plain = name == "find" and select(4, ...)
      if type(s) == "string" and type(pattern) == "string" and not plain then
        local _, quantifiers = raw_gsub(pattern, "[%*%+%-%?]", "")
        local init = init_at and tonumber((select(init_at, ...))) or 1
        local length = init > 0 and #s - init + 1 or min(#s, -init)
        if length > 1 and (quantifiers + 1) * log(length) > 26 * log(2) then
          error("string." .. name .. ": pattern too costly for the sandbox (" .. quantifiers ..
                " quantifiers over " .. length .. " bytes)", 2)
        end
      end
      return raw(...)
    end
  end
  string.find = bounded_pattern("find", string.find, 3)
  string.match = bounded_pattern("match", string.match, 3)
  string.gmatch = bounded_pattern("gmatch", string.gmatch, 3)
  string.gsub = bounded_pattern("gsub", string.gsub, nil)

  -- table.move loops over its range in C, whatever the table holds.
  local raw_move = table.move
  table.move = function(a1, f, e, t, ...)
    local first, last = tonumber(f), tonumber(e)
    if first and last and last - first >= 1048576 then
      error("table.move: a range of more than 2^20 elements is refused by the sandbox", 2)
    end
    return raw_move(a1, f, e, t, ...)
  end
)lua";

const char* sandbox_source() { return kSandboxSource; }

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
  if (luaL_loadbufferx(L, kSandboxSource, std::strlen(kSandboxSource), "=sandbox", "t") != LUA_OK) lua_error(L);
  lua_call(L, 0, 0);
}

}  // namespace luahammer
