// Entry: the RAII of one public entry point (lock, thread check, stack guard).
#include "cxxlua/state.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"
#include "lua_exception.hpp"

namespace cxxlua {

// ---------------------------------------------------------------------------------------
// Entry

void Entry::lock_entry(std::unique_lock<std::recursive_mutex>& lock) {
  // Canary unlocked_entry (docs/bugs.md S2, mlua #431): a thread-safe state's entry that does
  // not serialize on the state lock.
  if (CXXLUA_CANARY(unlocked_entry)) return;
  lock.lock();
}

lua_State* Entry::begin(StateCore& core, const char* where) {
  if (core.closing_.load()) {
    throw Error(ErrorKind::StateClosed, std::string(where) + ": the state is closing");
  }
  if (core.sweeping_) {
    throw Error(ErrorKind::StateClosed, std::string(where) + ": Lua is freeing an object whose finalizer it skipped");
  }
  lua_State* L = core.current();
  if (L == nullptr) {
    throw Error(ErrorKind::StateClosed, std::string(where) + ": the state is closed");
  }
  return L;
}

Entry::Entry(StateCore& core, const char* where, int delta)
    : core_(core),
      lock_(core.lock_, std::defer_lock),
      L_(((core.thread_safe() ? lock_entry(lock_) : core.check_thread(where)), begin(core, where))),
      guard_(L_, where, StackPolicy::Checking, delta) {
  core_.entries_.fetch_add(1);
  if (CXXLUA_CANARY(unref_in_gc_deadlock) && core_.thread_safe() && core_.entries_.load() == 1) {
    core_.canary_.entry_mutex.lock();
    canary_holds_entry_mutex_ = true;
  }
  if (!lua_checkstack(L_, 8)) {
    core_.entries_.fetch_sub(1);
    guard_.dismiss();
    throw Error(ErrorKind::StackOverflow, std::string(where) + ": no room on the Lua stack");
  }
  core_.drain_deferred_releases();
}

Entry::~Entry() {
  if (canary_holds_entry_mutex_) core_.canary_.entry_mutex.unlock();
  core_.entries_.fetch_sub(1);
}

}  // namespace cxxlua
