// The ledgers inside luahammer's Lua build: each fires on the misuse it is for, and stays
// quiet on correct use.
#include <luahammer/lua_ledgers.hpp>

#include <luahammer/core/fault_allocator.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

std::vector<std::string> reports;
void record(const char* oracle, const char* what) { reports.push_back(std::string(oracle) + ": " + what); }

struct Watched : ::testing::Test {
  void SetUp() override {
    reports.clear();
    previous = luahammer::lua_ledgers::set_handler(record);
    L = luaL_newstate();
    luahammer::lua_ledgers::watch(L);
  }
  void TearDown() override {
    if (L != nullptr) lua_close(L);
    luahammer::lua_ledgers::set_handler(previous);
  }
  lua_State* L = nullptr;
  luahammer::lua_ledgers::Handler previous = nullptr;
};

TEST_F(Watched, ReferencesTakenAndGivenBackOnceAreQuiet) {
  EXPECT_TRUE(luahammer::lua_ledgers::watched(L));
  std::vector<int> refs;
  for (int i = 0; i < 10; ++i) {
    lua_newtable(L);
    refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
  }
  lua_pushnil(L);
  EXPECT_EQ(luaL_ref(L, LUA_REGISTRYINDEX), LUA_REFNIL);  // no slot taken
  EXPECT_EQ(luahammer::lua_ledgers::live_references(L), 10u);
  for (int ref : refs) luaL_unref(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, LUA_NOREF);  // no-ops, as in Lua
  luaL_unref(L, LUA_REGISTRYINDEX, LUA_REFNIL);
  EXPECT_EQ(luahammer::lua_ledgers::live_references(L), 0u);
  EXPECT_TRUE(reports.empty());
}

TEST_F(Watched, AReferenceReleasedTwiceIsReported) {
  lua_newtable(L);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("registry-references: luaL_unref of slot " + std::to_string(ref) + " of the registry"),
            std::string::npos)
      << reports[0];
}

TEST_F(Watched, ASlotNeverTakenIsReportedOnAnyTable) {
  lua_newtable(L);
  const int t = lua_gettop(L);
  lua_pushboolean(L, 1);
  const int ref = luaL_ref(L, t);
  luaL_unref(L, t, ref);
  EXPECT_TRUE(reports.empty());
  luaL_unref(L, t, ref + 40);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("of a table, which is not taken"), std::string::npos) << reports[0];
}

TEST(Unwatched, AStateNotWatchedIsNotChecked) {
  reports.clear();
  const auto previous = luahammer::lua_ledgers::set_handler(record);
  lua_State* L = luaL_newstate();
  EXPECT_FALSE(luahammer::lua_ledgers::watched(L));
  lua_newtable(L);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  EXPECT_EQ(luahammer::lua_ledgers::live_references(L), 0u);
  lua_close(L);
  luahammer::lua_ledgers::set_handler(previous);
  EXPECT_TRUE(reports.empty());
}

TEST_F(Watched, FinalizersReleasingTheirReferencesAtCloseAreChecked) {
  // A finalizer lua_close runs releases the same slot twice: reported during the close.
  lua_newtable(L);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  auto* slot = static_cast<int*>(lua_newuserdatauv(L, sizeof(int), 0));
  *slot = ref;
  lua_newtable(L);
  lua_pushcfunction(L, [](lua_State* S) {
    const int r = *static_cast<int*>(lua_touserdata(S, 1));
    luaL_unref(S, LUA_REGISTRYINDEX, r);
    luaL_unref(S, LUA_REGISTRYINDEX, r);
    return 0;
  });
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_close(L);
  L = nullptr;
  EXPECT_EQ(reports.size(), 1u);
}

int noop(lua_State*) { return 0; }

// Three userdata: one whose metatable had __gc when it was set (marked), one given the
// metatable before its __gc was added (never finalized), one without metatable.
TEST_F(Watched, AUserdataGivenItsMetatableBeforeItsGcIsNeverFinalizedAndReported) {
  lua_newtable(L);  // the metatable, no __gc yet
  const int mt = lua_gettop(L);
  lua_newuserdatauv(L, 8, 0);
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);  // not marked: no __gc
  lua_pushcfunction(L, noop);
  lua_setfield(L, mt, "__gc");
  lua_newuserdatauv(L, 8, 0);
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);  // marked
  lua_newuserdatauv(L, 8, 0);
  lua_gc(L, LUA_GCCOLLECT);
  lua_gc(L, LUA_GCCOLLECT);
  const auto found = luahammer::lua_ledgers::unfinalized_userdata(L);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metatable, lua_topointer(L, mt));
  EXPECT_EQ(found[0].count, 1u);
  EXPECT_TRUE(luahammer::lua_ledgers::unfinalized_userdata(L, {lua_topointer(L, mt)}).empty());
}

TEST_F(Watched, UserdataMarkedForFinalizationAreQuietInEitherGcMode) {
  for (int mode : {LUA_GCINC, LUA_GCGEN}) {
    lua_gc(L, mode, 0, 0);
    lua_checkstack(L, 60);
    lua_newtable(L);
    lua_pushcfunction(L, noop);
    lua_setfield(L, -2, "__gc");
    const int mt = lua_gettop(L);
    for (int i = 0; i < 50; ++i) {
      lua_newuserdatauv(L, 8, 0);
      lua_pushvalue(L, mt);
      lua_setmetatable(L, -2);
      if (i % 2 == 0) lua_pop(L, 1);  // some collected (finalized), some kept
    }
    lua_gc(L, LUA_GCCOLLECT);
    lua_gc(L, LUA_GCCOLLECT);
    EXPECT_TRUE(luahammer::lua_ledgers::unfinalized_userdata(L).empty());
    lua_settop(L, 0);
  }
}

}  // namespace

namespace {

int finalized = 0;
int count_finalized(lua_State*) {
  ++finalized;
  return 0;
}
// Collects with every allocation refused (the allocator is its upvalue).
int collect_failing(lua_State* L) {
  auto* allocator = static_cast<luahammer::FaultAllocator*>(lua_touserdata(L, lua_upvalueindex(1)));
  allocator->fail_from_nth(1);
  lua_gc(L, LUA_GCCOLLECT);
  allocator->disarm();
  return 0;
}

// Drops 200 objects with a __gc, collects with every allocation refused, closes the state;
// returns how many finalizers ran.
int finalizers_run_while_memory_fails(bool spare) {
  luahammer::FaultAllocator allocator;
  lua_State* L = lua_newstate(allocator.function(), allocator.data());
  if (spare) {
    allocator.spare_while(
        [](void* state) { return luahammer::lua_ledgers::running_finalizer(static_cast<lua_State*>(state)); }, L);
  }
  luaL_newmetatable(L, "counted");
  lua_pushcfunction(L, count_finalized);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_gc(L, LUA_GCSTOP);  // none finalized before the collection below
  finalized = 0;
  for (int i = 0; i < 200; ++i) {
    lua_newuserdatauv(L, 8, 0);
    luaL_setmetatable(L, "counted");
    lua_pop(L, 1);
  }
  // In a fresh coroutine: calling a finalizer there needs a new CallInfo.
  lua_State* co = lua_newthread(L);
  lua_pushlightuserdata(co, &allocator);
  lua_pushcclosure(co, collect_failing, 1);
  int results = 0;
  lua_resume(co, L, 0, &results);
  lua_close(L);  // runs the finalizers still pending; a dropped one never runs
  return finalized;
}

}  // namespace

// A finalizer whose call raised is dropped for good (lgc.c GCTM); calling one may need
// memory (a CallInfo, stack). Fuzzing with allocation failures must not make Lua drop
// finalizers, or what they would free looks leaked by the code under test.
TEST(FaultAllocatorAndLua, LuaCallingAFinalizerIsNeverRefusedMemory) {
  EXPECT_EQ(finalizers_run_while_memory_fails(true), 200);
}

// The same without sparing: Lua drops finalizers (the test above can fail).
TEST(FaultAllocatorAndLua, WithoutSparingLuaDropsFinalizersWhenMemoryFails) {
  EXPECT_LT(finalizers_run_while_memory_fails(false), 200);
}
