// The generic module fuzzer against small modules written here: it discovers their API
// (nested tables, methods of returned userdata), and each oracle fires on a module that
// breaks it: Lua's API checks on stack misuse, the memory oracle on a block never freed.
#include <luahammer/module/module_fuzz.hpp>
#include <luahammer/core/random_bytes.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

int calls_to_poke = 0;

int f_ok(lua_State* L) {
  lua_pushinteger(L, lua_gettop(L));
  return 1;
}
int f_poke(lua_State* L) {
  luaL_checkudata(L, 1, "fake.thing");
  ++calls_to_poke;
  return 0;
}
int f_make(lua_State* L) {
  lua_newuserdatauv(L, 16, 0);
  if (luaL_newmetatable(L, "fake.thing")) {
    lua_newtable(L);
    lua_pushcfunction(L, f_poke);
    lua_setfield(L, -2, "poke");
    lua_setfield(L, -2, "__index");
  }
  lua_setmetatable(L, -2);
  return 1;
}
int f_overpush(lua_State* L) {  // pushes past LUA_MINSTACK without lua_checkstack
  for (int i = 0; i < 200; ++i) lua_pushinteger(L, i);
  return 0;
}
int f_overreturn(lua_State* L) {  // claims five results, pushed one
  lua_settop(L, 0);
  lua_pushnil(L);
  return 5;
}
int f_leak(lua_State* L) {  // takes a block from the state's allocator and never returns it
  void* ud = nullptr;
  lua_Alloc alloc = lua_getallocf(L, &ud);
  static_cast<void>(alloc(ud, nullptr, 0, 64));
  return 0;
}

int open_with(lua_State* L, const std::vector<luaL_Reg>& functions, bool nested) {
  lua_newtable(L);
  for (const auto& f : functions) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, -2, f.name);
  }
  if (nested) {
    lua_newtable(L);
    lua_pushcfunction(L, f_ok);
    lua_setfield(L, -2, "deeper");
    lua_setfield(L, -2, "nested");
  }
  return 1;
}
extern "C" int open_clean(lua_State* L) { return open_with(L, {{"ok", f_ok}, {"make", f_make}}, true); }
extern "C" int open_overpush(lua_State* L) { return open_with(L, {{"overpush", f_overpush}}, false); }
extern "C" int open_overreturn(lua_State* L) { return open_with(L, {{"overreturn", f_overreturn}}, false); }
extern "C" int open_leak(lua_State* L) { return open_with(L, {{"leak", f_leak}}, false); }

// Deterministic inputs: enough of them reach every callable.
void run_inputs(const luahammer::ModuleSpec& module, int count) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < count; ++i) {
    const std::vector<std::uint8_t> input = luahammer::random_bytes(rng, 64 + rng() % 512);
    luahammer::run_module_input(module, input.data(), input.size());
  }
}

TEST(ModuleFuzz, DiscoversFunctionsInNestedTables) {
  const auto names = luahammer::discover_module_api({"fake", open_clean});
  EXPECT_EQ(names, (std::vector<std::string>{"fake.make", "fake.ok", "fake.nested.deeper"}));
}

TEST(ModuleFuzz, CallsMethodsOfUserdataItsFunctionsReturnAndLeaksNothing) {
  calls_to_poke = 0;
  run_inputs({"fake", open_clean}, 400);  // with hook, GC and failure plans; LSan checks at exit
  EXPECT_GT(calls_to_poke, 0);
}

TEST(ModuleFuzzDeathTest, PushingPastTheStackTripsLuaApiChecks) {
  EXPECT_DEATH(run_inputs({"fake", open_overpush}, 400), "stack overflow");
}

TEST(ModuleFuzzDeathTest, ReturningMoreResultsThanPushedTripsLuaApiChecks) {
  EXPECT_DEATH(run_inputs({"fake", open_overreturn}, 400), "not enough elements in the stack");
}

TEST(ModuleFuzzDeathTest, ABlockNeverReturnedToTheAllocatorIsAMemoryFinding) {
  EXPECT_DEATH(run_inputs({"fake", open_leak}, 400),
               "luahammer: memory: [0-9]+ byte\\(s\\) in [0-9]+ block\\(s\\) not returned after lua_close");
}

}  // namespace
