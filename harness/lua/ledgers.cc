// The ledgers of lua_ledgers.hpp. Compiled into luahammer's Lua library, always as C++,
// with Lua's internal headers: lauxlib.c is compiled with luaL_ref and luaL_unref renamed
// (luahammer_real_…) and lstate.c with lua_close renamed, so every call a binding makes
// reaches the wrappers below first.
#include <luahammer/lua_ledgers.hpp>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#if LUAHAMMER_LUA_AS_CXX
#define LUAHAMMER_LUA_LINKAGE
#include "lgc.h"
#include "lobject.h"
#include "lstate.h"
#include "ltm.h"
#else
#define LUAHAMMER_LUA_LINKAGE extern "C"
extern "C" {
#include "lgc.h"
#include "lobject.h"
#include "lstate.h"
#include "ltm.h"
}
#endif

LUAHAMMER_LUA_LINKAGE int luahammer_real_luaL_ref(lua_State* L, int t);
LUAHAMMER_LUA_LINKAGE void luahammer_real_luaL_unref(lua_State* L, int t, int ref);
LUAHAMMER_LUA_LINKAGE void luahammer_real_lua_close(lua_State* L);

namespace luahammer::lua_ledgers {
namespace {

struct StateBook {
  const void* registry = nullptr;
  std::unordered_map<const void*, std::unordered_set<int>> live;  // per table: slots taken
};

std::mutex mutex;
std::unordered_map<const void*, StateBook>& books() {  // per global_State
  static auto* all = new std::unordered_map<const void*, StateBook>();
  return *all;
}
Handler handler = nullptr;

void report(const char* oracle, const std::string& what) {
  if (handler != nullptr) return handler(oracle, what.c_str());
  std::fprintf(stderr, "luahammer: %s: %s\n", oracle, what.c_str());
  std::fflush(stderr);
  std::abort();
}

StateBook* book_of(lua_State* L) {
  auto found = books().find(G(L));
  return found == books().end() ? nullptr : &found->second;
}

}  // namespace

Handler set_handler(Handler h) {
  std::lock_guard<std::mutex> lock(mutex);
  const Handler old = handler;
  handler = h;
  return old;
}

void watch(lua_State* L) {
  const void* registry = lua_topointer(L, LUA_REGISTRYINDEX);
  std::lock_guard<std::mutex> lock(mutex);
  books()[G(L)].registry = registry;
}

bool watched(lua_State* L) {
  std::lock_guard<std::mutex> lock(mutex);
  return book_of(L) != nullptr;
}

bool running_finalizer(lua_State* L) {
#ifdef GCSTPGC
  return (G(L)->gcstp & GCSTPGC) != 0;
#else
  (void)L;
  return false;
#endif
}

std::size_t live_references(lua_State* L) {
  std::lock_guard<std::mutex> lock(mutex);
  const StateBook* book = book_of(L);
  if (book == nullptr) return 0;
  const auto found = book->live.find(book->registry);
  return found == book->live.end() ? 0 : found->second.size();
}

std::vector<Unfinalized> unfinalized_userdata(lua_State* L, const std::vector<const void*>& ignore) {
  std::vector<Unfinalized> out;
  global_State* g = G(L);
  // Objects marked for finalization live on g->finobj (and g->tobefnz); every other
  // object, in either GC mode, is on the g->allgc list.
  for (GCObject* o = g->allgc; o != nullptr; o = o->next) {
    if (o->tt != LUA_VUSERDATA) continue;
    Table* mt = gco2u(o)->metatable;
    if (mt == nullptr || gfasttm(g, mt, TM_GC) == nullptr) continue;
    const void* key = mt;
    bool skip = false;
    for (const void* i : ignore) skip = skip || i == key;
    if (skip) continue;
    bool counted = false;
    for (auto& entry : out) {
      if (entry.metatable == key) {
        ++entry.count;
        counted = true;
      }
    }
    if (!counted) out.push_back({key, 1});
  }
  return out;
}

}  // namespace luahammer::lua_ledgers

using luahammer::lua_ledgers::book_of;
using luahammer::lua_ledgers::mutex;

int luaL_ref(lua_State* L, int t) {
  const void* table = lua_topointer(L, t);  // before the value on top is popped
  const int ref = luahammer_real_luaL_ref(L, t);
  if (ref >= 0) {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto* book = book_of(L)) book->live[table].insert(ref);
  }
  return ref;
}

void luaL_unref(lua_State* L, int t, int ref) {
  if (ref >= 0) {
    const void* table = lua_topointer(L, t);
    std::string problem;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (auto* book = book_of(L)) {
        if (book->live[table].erase(ref) == 0) {
          problem = "luaL_unref of slot " + std::to_string(ref) + " of " +
                    (table == book->registry ? "the registry" : "a table") +
                    ", which is not taken: released twice, or never taken";
        }
      }
    }
    if (!problem.empty()) luahammer::lua_ledgers::report("registry-references", problem);
  }
  luahammer_real_luaL_unref(L, t, ref);
}

// The book outlives the finalizers lua_close runs (they release references too).
void lua_close(lua_State* L) {
  const void* state = G(L);
  luahammer_real_lua_close(L);
  std::lock_guard<std::mutex> lock(mutex);
  luahammer::lua_ledgers::books().erase(state);
}
