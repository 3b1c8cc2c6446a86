// When Lua is compiled as C++ its errors are C++ exceptions of type `lua_longjmp*`
// (ldo.c). Our catch-all handlers must let those pass, or a Lua error would be swallowed.
#pragma once

#if LUAHAMMER_LUA_AS_CXX
// Layout as declared in Lua's ldo.c for C++ builds (luai_jmpbuf is int there).
struct lua_longjmp {
  struct lua_longjmp* previous;
  int b;
  volatile int status;
};
#define CXXLUA_LET_LUA_ERRORS_PASS \
  catch (lua_longjmp*) {           \
    throw;                         \
  }
#else
#define CXXLUA_LET_LUA_ERRORS_PASS
#endif
