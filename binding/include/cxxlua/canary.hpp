// Canaries: each catalogued bug (docs/bugs.md) can be switched back into the binding
// core to prove the harness finds it. A canary build (-DLUAHAMMER_CANARIES=ON) compiles
// every site; LUAHAMMER_CANARY=<name> switches exactly one on at run time (an unknown
// name is an error). In a default build every site is constant false and vanishes, and
// LUAHAMMER_CANARY is ignored.
#pragma once

namespace cxxlua::canary {

// clang-format off
#define CXXLUA_CANARY_LIST(X) \
  X(guard_error_path) \
  X(unlocked_entry) \
  X(gc_drop_touches_state) \
  X(unref_after_close) \
  X(finalize_missed) \
  X(pending_swallowed) \
  X(missing_checkstack) \
  X(stack_leak) \
  X(coroutine_state_ref) \
  X(ref_leak) \
  X(finalizer_skipped) \
  X(resurrected_userdata) \
  X(destroy_unconstructed) \
  X(double_destroy) \
  X(unref_in_gc_deadlock) \
  X(longjmp_skips_dtor) \
  X(hook_yield_truncates) \
  X(resume_running)
// clang-format on

enum class Site {
#define CXXLUA_CANARY_ENUM(name) name,
  CXXLUA_CANARY_LIST(CXXLUA_CANARY_ENUM)
#undef CXXLUA_CANARY_ENUM
      count
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
