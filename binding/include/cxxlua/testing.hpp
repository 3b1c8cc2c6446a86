// Test-only inspection of a state: what tests and the harness's oracles look at and a
// program using the binding has no business with (the raw lua_State, the counts of
// finalizers Lua skipped). Kept apart so the public API stays what a user needs.
#pragma once

#include <cstddef>
#include <utility>

#include <luahammer/lua.hpp>

#include "cxxlua/internal/core.hpp"
#include "cxxlua/internal/stack_guard.hpp"
#include "cxxlua/state.hpp"
#include "cxxlua/value.hpp"

namespace cxxlua::testing {

// The state's main lua_State, null once closed.
lua_State* main_thread(const StateHandle& state) noexcept;
// C++ objects destroyed when Lua freed their userdata after skipping its __gc.
std::size_t finalizers_skipped_by_lua(const StateHandle& state) noexcept;
// __gc calls Lua reported as failed for lack of memory ("error in __gc" warnings).
std::size_t finalizer_call_failures(const StateHandle& state) noexcept;
// The state a handle belongs to, and whether it is `state`.
StateHandle state_of(const Reference& reference) noexcept;
bool same_state(const Reference& reference, const StateHandle& state) noexcept;

// Runs fn(L) inside an entry: the state's lock held, the stack checked on the way out.
// For tools that must look at raw Lua state (another thread may be using the state).
template <class F>
auto inspect(const StateHandle& state, F&& fn) {
  internal::Entry entry(*state.core(), "testing::inspect");
  return std::forward<F>(fn)(entry.L());
}

}  // namespace cxxlua::testing
