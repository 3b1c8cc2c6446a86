// Lua's own C API checks are compiled in: misuse of the API dies with Lua's assertion
// instead of silently corrupting the stack. Without LUA_USE_APICHECK the death test fails.
#include <gtest/gtest.h>

#include <luahammer/lua.hpp>

namespace {

TEST(LuaApiCheck, PushingPastMinStackWithoutCheckstackDies) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        lua_State* L = luaL_newstate();
        for (int i = 0; i <= LUA_MINSTACK; ++i) lua_pushinteger(L, i);
        lua_close(L);
      },
      "stack overflow");
}

TEST(LuaApiCheck, PushingPastMinStackAfterCheckstackIsFine) {
  lua_State* L = luaL_newstate();
  ASSERT_TRUE(lua_checkstack(L, 2 * LUA_MINSTACK));
  for (int i = 0; i <= LUA_MINSTACK; ++i) lua_pushinteger(L, i);
  EXPECT_EQ(lua_gettop(L), LUA_MINSTACK + 1);
  lua_close(L);
}

TEST(LuaApiCheck, InternalAssertionsAreCompiledIn) {
  // LUAI_ASSERT turns lua_assert into assert(); a wrong index to lua_settop trips the
  // API check on the "new top too large" path.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        lua_State* L = luaL_newstate();
        lua_settop(L, 10 * LUA_MINSTACK);
        lua_close(L);
      },
      "new top too large");
}

}  // namespace
