// StateCore's registry references: taken, released (deferred where entering the state
// would be unsafe), drained at the next entry.
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
// StateCore: references

int StateCore::take_reference(lua_State* L) {
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (CXXLUA_CANARY(coroutine_state_ref)) {
    std::lock_guard<std::mutex> guard(deferred_mutex_);
    canary_.reference_threads[ref] = L;
  }
  live_references_.fetch_add(1);
  if (observer_ != nullptr) observer_->on_take(ref);
  return ref;
}

namespace {

// luaL_unref only rewrites two existing registry slots: it never allocates or raises.
bool unref_now(lua_State* L, int ref) noexcept {
  if (!lua_checkstack(L, 2)) return false;
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  return true;
}

}  // namespace

void StateCore::release_reference(int ref) noexcept {
  // Canary unref_after_close (docs/bugs.md S3, sol2 #1431): the drop of a reference that
  // outlived its state unrefs through the lua_State it remembers, freed by lua_close.
  if (CXXLUA_CANARY(unref_after_close) && closed() && canary_.last_main != nullptr) {
    luaL_unref(canary_.last_main, LUA_REGISTRYINDEX, ref);
    return;
  }
  // Canary gc_drop_touches_state (docs/bugs.md S3, mlua #423): a drop from a finalizer run by
  // close enters the state being destroyed instead of doing nothing; the entry refuses
  // and the error escapes a noexcept destructor.
  if (CXXLUA_CANARY(gc_drop_touches_state) && closing_.load()) {
    Entry entry(*this, "Reference::drop");
  }
  if (ref == LUA_NOREF || ref == LUA_REFNIL || closed()) return;
  // The ledger hears of the release while the lock is still held: once it is dropped,
  // another thread may be handed the same slot.
  auto release_now = [this, ref]() noexcept {
    lua_State* L = current();
    // Canary coroutine_state_ref (sol2 #890, LuaBridge #58, mlua #479): the reference
    // is released through the thread it was taken on, which may be a collected coroutine.
    if (CXXLUA_CANARY(coroutine_state_ref)) {
      std::lock_guard<std::mutex> guard(deferred_mutex_);
      auto it = canary_.reference_threads.find(ref);
      if (it != canary_.reference_threads.end()) L = it->second;
    }
    if (!unref_now(L, ref)) return false;
    live_references_.fetch_sub(1);
    released_references_.fetch_add(1);
    if (observer_ != nullptr) observer_->on_release(ref);
    return true;
  };
  if (thread_safe_) {
    std::unique_lock<std::recursive_mutex> guard(lock_, std::try_to_lock);
    // Canary unref_in_gc_deadlock (mlua 949906f): a drop inside __gc takes a non-reentrant
    // lock that the entry running the collection already holds.
    if (CXXLUA_CANARY(unref_in_gc_deadlock) && guard.owns_lock() && finalizer_depth > 0) {
      std::lock_guard<std::mutex> self_deadlock(canary_.entry_mutex);
    }
    if (guard.owns_lock() && !closed() && !must_defer_release() && release_now()) return;
  } else if (std::this_thread::get_id() == owner_ && !must_defer_release() && release_now()) {
    return;
  }
  // Unsafe to call into Lua now (inside a finalizer, during close, another thread holds
  // the state): queue the slot; the next entry releases it.
  try {
    std::lock_guard<std::mutex> guard(deferred_mutex_);
    deferred_releases_.push_back(ref);
    has_deferred_.store(true);
  } catch (...) {
    // Out of memory for the queue: the slot stays taken until close, which frees it.
  }
}

void StateCore::drain_deferred_releases() noexcept {
  if (!has_deferred_.load() || must_defer_release()) return;
  std::vector<int> pending;
  {
    std::lock_guard<std::mutex> guard(deferred_mutex_);
    pending.swap(deferred_releases_);
    has_deferred_.store(false);
  }
  lua_State* L = current();
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (!unref_now(L, pending[i])) {
      std::lock_guard<std::mutex> guard(deferred_mutex_);
      deferred_releases_.insert(deferred_releases_.end(), pending.begin() + static_cast<long>(i), pending.end());
      has_deferred_.store(true);
      return;
    }
    live_references_.fetch_sub(1);
    released_references_.fetch_add(1);
    if (observer_ != nullptr) observer_->on_release(pending[i]);
  }
}

}  // namespace cxxlua
