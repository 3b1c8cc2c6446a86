// The classic Lua fuzz target, for comparison only (docs/performance.md): a fresh
// luaL_newstate per input, the sandboxed library set, luaL_loadbufferx in text mode and
// lua_pcall. No binding, no oracles.
#include <cstdint>
#include <string>

#include <luahammer/lua.hpp>

namespace {
int count_hook_budget = 0;
void budget(lua_State* L, lua_Debug*) {
  if (++count_hook_budget > 200) luaL_error(L, "instruction budget exhausted");
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lua_State* L = luaL_newstate();
  if (L == nullptr) return 0;
  const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_COLIBNAME, luaopen_coroutine},
                           {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
                           {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const luaL_Reg& lib : libs) {
    luaL_requiref(L, lib.name, lib.func, 1);
    lua_pop(L, 1);
  }
  count_hook_budget = 0;
  lua_sethook(L, &budget, LUA_MASKCOUNT, 1000);
  if (luaL_loadbufferx(L, reinterpret_cast<const char*>(data), size, "=input", "t") == LUA_OK) {
    lua_pcall(L, 0, 0, 0);
  }
  lua_close(L);
  return 0;
}

std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size) + "\n";
}
