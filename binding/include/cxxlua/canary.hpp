// Canaries: each catalogued bug (docs/bugs.md) can be switched back into the binding
// core to prove the harness finds it. A canary build (-DLUAHAMMER_CANARIES=ON) compiles
// every site; LUAHAMMER_CANARY=<name> switches exactly one on at run time (an unknown
// name is an error). In a default build every site is constant false and vanishes, and
// LUAHAMMER_CANARY is ignored.
#pragma once

#include <map>
#include <mutex>

struct lua_State;

namespace cxxlua::canary {

// One enumerator per row of canaries.def, the one table of canaries.
enum class Site {
#define CXXLUA_CANARY_ROW(name, suite, detector, site) name,
#include "cxxlua/canaries.def"
#undef CXXLUA_CANARY_ROW
  count
};

// Everything the canary sites of one state remember, in one place (a member of StateCore;
// untouched unless a canary is switched on).
struct StateBook {
  lua_State* last_main = nullptr;               // unref_after_close: the closed state's main thread
  std::mutex entry_mutex;                       // unref_in_gc_deadlock: a non-reentrant entry lock
  std::map<int, lua_State*> reference_threads;  // coroutine_state_ref: the thread each ref was taken on
};

const char* name(Site site) noexcept;
// The site LUAHAMMER_CANARY names, or Site::count when none (always none in a default build).
Site active() noexcept;
constexpr bool compiled_in() noexcept { return LUAHAMMER_CANARIES != 0; }

#if LUAHAMMER_CANARIES
inline bool on(Site site) noexcept { return active() == site; }
#else
constexpr bool on(Site) noexcept { return false; }
#endif

}  // namespace cxxlua::canary

// The guard of one canary site: `if (CXXLUA_CANARY(stack_leak)) { …the old bug… }`.
#define CXXLUA_CANARY(site) (::cxxlua::canary::on(::cxxlua::canary::Site::site))
