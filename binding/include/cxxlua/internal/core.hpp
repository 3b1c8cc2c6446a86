// Internal (not API): the binding core's state, entries and protected calls. Public
// headers include this for their templates only; names here live in cxxlua::internal and
// may change in any release. Tools that need to look inside a state use cxxlua/testing.hpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <luahammer/lua.hpp>

#include "cxxlua/async.hpp"
#include "cxxlua/canary.hpp"
#include "cxxlua/error.hpp"
#include "cxxlua/hooks.hpp"
#include "cxxlua/internal/stack_guard.hpp"
#include "cxxlua/state.hpp"
#include "cxxlua/value.hpp"

namespace cxxlua {
struct HookTable;  // hooks.cc
}  // namespace cxxlua

namespace cxxlua::internal {

// Raw form of a value taken off the stack inside a protected call: GC objects already
// hold a registry reference. Trivially destructible, so a Lua error jump may skip it.
struct RawValue {
  int type = LUA_TNIL;
  union {
    bool boolean;
    lua_Integer integer;
    lua_Number number;
    void* pointer;
    int ref;
  };
  RawValue() noexcept : integer(0) {}
};

class StateCore : public std::enable_shared_from_this<StateCore> {
 public:
  explicit StateCore(const StateOptions& options);
  StateCore(const StateCore&) = delete;
  StateCore& operator=(const StateCore&) = delete;

  // --- life cycle -----------------------------------------------------------------
  bool closed() const noexcept { return main_.load(std::memory_order_acquire) == nullptr; }
  lua_State* main() const noexcept { return main_.load(std::memory_order_acquire); }
  // The thread that runs Lua code right now: a coroutine inside a callback, else main.
  lua_State* current() const noexcept { return current_ != nullptr ? current_ : main(); }
  void open(lua_State* L) noexcept;
  void close();
  bool closing() const noexcept { return closing_.load(); }  // lua_close is running
  static StateCore* of(lua_State* L) noexcept { return *static_cast<StateCore**>(lua_getextraspace(L)); }

  // --- references (the ledger counts registry slots taken and released) -------------
  int take_reference(lua_State* L);          // pops top; may raise: call inside protect
  void release_reference(int ref) noexcept;  // safe from anywhere, any time
  void drain_deferred_releases() noexcept;   // at entry, with the lock held
  long long live_references() const noexcept { return live_references_.load(); }
  long long released_references() const noexcept { return released_references_.load(); }

  // --- memory -----------------------------------------------------------------------
  std::size_t used_memory() const noexcept { return used_memory_.load(); }
  void set_memory_limit(std::size_t limit) noexcept { memory_limit_.store(limit); }
  std::size_t memory_limit() const noexcept { return memory_limit_.load(); }
  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept;

  // --- C++ objects living in userdata ------------------------------------------------
  // Lua skips a __gc whose call fails (a memory error while calling it only warns) and
  // frees the block later all the same. So every C++ object in a userdata is tracked from
  // construction to destruction (call both with the state lock held); when Lua frees a
  // block that still holds a tracked object, the allocator destroys it first. Entries are
  // refused meanwhile (Lua is sweeping): such a destructor must not call into Lua.
  void track_object(void* object, void (*destroy)(void*) noexcept) noexcept;
  void untrack_object(void* object) noexcept;
  std::size_t tracked_objects() const noexcept { return tracked_objects_.size(); }
  std::size_t finalizers_skipped_by_lua() const noexcept { return finalizers_skipped_; }
  // Lua's warnings "error in __gc (not enough memory)": finalizer calls that failed for
  // lack of memory, the only way one of ours is skipped by Lua itself.
  std::size_t finalizer_call_failures() const noexcept { return finalizer_call_failures_; }
  void note_warning_piece(const char* piece, bool to_be_continued) noexcept;

  // --- bookkeeping used by entries, finalizers and callbacks --------------------------
  bool thread_safe() const noexcept { return thread_safe_; }
  std::recursive_mutex& lock() noexcept { return lock_; }
  void check_thread(const char* where) const;
  int finalizer_depth = 0;               // > 0 while a __gc of ours runs
  int active_borrows = 0;                // live Borrowed/BorrowedMut guards
  std::shared_ptr<const Error> raising;  // error a host function is about to raise
  lua_State* current_ = nullptr;
  bool yield_requested = false;  // a host function returned Yield
  std::string hook_message;      // error a hook is about to raise
  Waker current_waker;           // the async driver's task being resumed
  std::shared_ptr<HookTable> hooks;

  // A convenience for the destructor path of handles: true where calling into Lua to
  // release a reference right now would be unsafe.
  bool must_defer_release() const noexcept;

 private:
  std::atomic<lua_State*> main_{nullptr};
  std::atomic<bool> closing_{false};
  std::atomic<long long> live_references_{0};
  std::atomic<long long> released_references_{0};
  std::atomic<std::size_t> used_memory_{0};
  std::atomic<std::size_t> memory_limit_{0};
  lua_Alloc inner_allocator_;
  void* inner_allocator_data_;
  bool thread_safe_;
  ReferenceObserver* observer_;
  std::recursive_mutex lock_;
  std::thread::id owner_;
  std::atomic<int> entries_{0};  // nesting depth of entries on the owning thread
  std::map<std::uintptr_t, void (*)(void*) noexcept> tracked_objects_;
  std::size_t finalizers_skipped_ = 0;
  std::size_t finalizer_call_failures_ = 0;
  int warning_piece_ = 0;                            // pieces of an "error in __gc" warning seen; -1: other
  std::atomic<std::size_t> refused_allocations_{0};  // growth requests that got no memory
  std::size_t refused_when_last_counted_ = 0;
  bool sweeping_ = false;  // the allocator destroys a skipped object
  void destroy_tracked_in(void* block, std::size_t size) noexcept;
  std::mutex deferred_mutex_;
  std::vector<int> deferred_releases_;
  std::atomic<bool> has_deferred_{false};
  canary::StateBook canary_;  // canary.hpp; unused unless a canary is switched on
  friend class Entry;
};

// RAII for one public entry point.
class Entry {
 public:
  Entry(StateCore& core, const char* where, int delta = 0);
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;
  ~Entry();
  lua_State* L() const noexcept { return L_; }
  StackGuard& guard() noexcept { return guard_; }

 private:
  static lua_State* begin(StateCore& core, const char* where);
  static void lock_entry(std::unique_lock<std::recursive_mutex>& lock);
  StateCore& core_;
  std::unique_lock<std::recursive_mutex> lock_;
  lua_State* L_;
  bool canary_holds_entry_mutex_ = false;
  StackGuard guard_;
};

// The protected-call primitive. `body(L)` runs inside lua_pcall on its own frame, with the
// nargs values the caller pushed at indices 1..nargs; it returns how many values on its
// top are results (moved to the caller's stack). A Lua error or a C++ exception in body
// becomes a thrown cxxlua::Error here, with the caller's stack as it was minus the args.
// Body frames must own nothing non-trivial: a Lua error jumps over them.
struct ProtectedCall {
  int (*invoke)(void* body, lua_State* L);
  void* body;
  std::exception_ptr exception;
  bool traceback = false;
};
void run_protected(lua_State* L, int nargs, int nresults, ProtectedCall& call);

template <class Body>
void protect(lua_State* L, int nargs, int nresults, Body&& body, bool traceback = false) {
  using B = std::remove_reference_t<Body>;
  ProtectedCall call{[](void* b, lua_State* state) -> int { return (*static_cast<B*>(b))(state); },
                     static_cast<void*>(&body), nullptr, traceback};
  run_protected(L, nargs, nresults, call);
}

// Turns the error value on top of L (status from pcall/resume/load) into an Error; pops it.
Error pop_error(lua_State* L, int status);
// Inside protect: takes the value at idx as RawValue (references for GC objects).
void raw_from_stack(StateCore& core, lua_State* L, int idx, RawValue& out);
// Outside protect: wraps a RawValue (adopting its reference).
Value value_from_raw(const std::shared_ptr<StateCore>& core, const RawValue& raw) noexcept;
// Releases the references of raws[0..count) (error paths).
void release_raws(StateCore& core, const RawValue* raws, std::size_t count) noexcept;
// Non-raising push of a Value (checks it belongs to `core`).
void push_value(lua_State* L, const StateCore& core, const Value& value);
// Pops `count` values from L's top into Values (one protected call).
MultiValue pop_values(StateCore& core, lua_State* L, int count);
// Ensures room for n more values or throws StackOverflow.
void ensure_stack(lua_State* L, int n);

}  // namespace cxxlua::internal
