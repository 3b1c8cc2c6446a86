// Claim: the core sandbox works on any lua_State, with no binding: the safe libraries only,
// text-only load, no string.dump, and its bounds (a costly pattern is a clean error).
#include <gtest/gtest.h>

#include <string>

#include <luahammer/core/sandbox.hpp>

namespace luahammer {
namespace {

int open_sandbox(lua_State* L) {
  open_safe_libraries(L);
  apply_sandbox(L);
  return 0;
}

// Runs `code` in a fresh sandboxed state; its first result as a string, or the error.
std::string run(const char* code) {
  lua_State* L = luaL_newstate();
  std::string out;
  lua_pushcfunction(L, open_sandbox);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK || luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    out = std::string("error: ") + (lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  } else {
    out = luaL_tolstring(L, -1, nullptr);
  }
  lua_close(L);
  return out;
}

TEST(CoreSandbox, OnlyTheSafeLibrariesAndTextChunks) {
  EXPECT_EQ(run("return type(io) .. type(os) .. type(require) .. type(debug)"), "nilnilnilnil");
  EXPECT_EQ(run("return type(string.dump) .. type(dofile) .. type(loadfile)"), "nilnilnil");
  EXPECT_EQ(run("return select(2, load('return 1', 'x', 'b'))"),
            "attempt to load a binary chunk (the sandbox loads text only)");
  EXPECT_EQ(run("return load('return 6 * 7')()"), "42");
}

TEST(CoreSandbox, CostlyPatternsAreCleanErrors) {
  const std::string out = run("return string.find(string.rep('a', 5000), string.rep('a*', 30) .. 'b')");
  EXPECT_NE(out.find("pattern too costly for the sandbox"), std::string::npos) << out;
  EXPECT_EQ(run("return string.find('hello', 'l+')"), "3");
}

// The bound reads init as string.find does: 0 and anything before the start count from
// the first byte (math.mininteger once wrapped around and let a costly pattern through).
TEST(CoreSandbox, TheBoundCountsTheSubjectFromWhereTheMatchStarts) {
  for (const char* init : {"0", "math.mininteger", "-1000", "'1'", "1.0"}) {
    const std::string out =
        run((std::string("return string.find(string.rep('a', 40), 'a*a*a*a*a*a*a*b', ") + init + ")").c_str());
    EXPECT_NE(out.find("pattern too costly for the sandbox (7 quantifiers over 40 bytes)"), std::string::npos)
        << init << ": " << out;
  }
  EXPECT_EQ(run("return tostring(string.find(string.rep('a', 40), 'a*a*a*a*a*a*a*b', 38))"), "nil");
  EXPECT_EQ(run("return tostring(string.find(string.rep('a', 40), 'a*a*a*a*a*a*a*b', -2))"), "nil");
}

TEST(CoreSandbox, HugeMovesAreRefusedWithTheCallersPosition) {
  EXPECT_EQ(run("return table.move({}, math.mininteger, math.maxinteger, 2)"),
            "error: [string \"return table.move({}, math.mininteger, math.m...\"]:1: table.move: a range of more "
            "than 2^20 elements is refused by the sandbox");
  EXPECT_EQ(run("return #table.move({1, 2, 3}, 1, 3, 2)"), "4");
}

}  // namespace
}  // namespace luahammer
