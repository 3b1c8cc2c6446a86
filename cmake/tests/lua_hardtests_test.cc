// With HARDMEMTESTS every allocation runs a full collection, so a string pointer kept
// across lua_pop is freed by the very next allocation and ASan reports the read. In a
// Lua built without the flag nothing is collected and the death test fails.
#include <gtest/gtest.h>

#include <luahammer/lua.hpp>

namespace {

TEST(LuaHardTests, KeptStringPointerAcrossPopAndGcIsUseAfterFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        lua_State* L = luaL_newstate();
        lua_pushfstring(L, "a string built at run time: %d", 12345);
        const char* kept = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_pushstring(L, "this allocation collects the popped string");
        volatile char c = kept[0];  // heap-use-after-free under HARDMEMTESTS
        (void)c;
        lua_close(L);
      },
      "heap-use-after-free");
}

}  // namespace
