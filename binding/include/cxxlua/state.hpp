// State and its handles. A state's core (cxxlua/internal/core.hpp) outlives the lua_State
// (handles share it), so a handle can always ask whether its state is alive. Every public
// entry point goes through an internal Entry: state-closed check, lock (thread-safe
// states), owner-thread check, deferred reference releases, and a checking stack guard.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <luahammer/lua.hpp>

#include "cxxlua/async.hpp"
#include "cxxlua/error.hpp"
#include "cxxlua/hooks.hpp"
#include "cxxlua/value.hpp"

namespace cxxlua {

namespace library {
enum : unsigned {
  Base = 1u << 0,
  Coroutine = 1u << 1,
  Table = 1u << 2,
  String = 1u << 3,
  Math = 1u << 4,
  Utf8 = 1u << 5,
  Io = 1u << 6,
  Os = 1u << 7,
  Package = 1u << 8,
  Debug = 1u << 9,
  Safe = Base | Coroutine | Table | String | Math | Utf8,
  All = Safe | Io | Os | Package | Debug,
};
}  // namespace library

// Sees every registry reference the binding takes and releases (tools use it to keep a
// ledger). Called with the state's lock held where there is one; must not call into Lua.
class ReferenceObserver {
 public:
  virtual ~ReferenceObserver() = default;
  virtual void on_take(int ref) noexcept = 0;
  virtual void on_release(int ref) noexcept = 0;
};

struct StateOptions {
  unsigned libraries = library::Safe;
  std::size_t memory_limit = 0;   // bytes; 0 = no limit
  lua_Alloc allocator = nullptr;  // null = realloc/free
  void* allocator_data = nullptr;
  bool thread_safe = false;  // serialize every entry on a reentrant lock
  ReferenceObserver* reference_observer = nullptr;
};

class AsyncCall;

class StateHandle {
 public:
  explicit StateHandle(std::shared_ptr<internal::StateCore> core) noexcept : core_(std::move(core)) {}

  Table globals() const;
  Table registry() const;
  Table create_table(int sequence_size = 0, int record_size = 0) const;
  String create_string(std::string_view bytes) const;
  // mode "t" (text only, the default), "b" or "bt".
  Function load(std::string_view source, std::string_view chunkname = "=chunk", std::string_view mode = "t") const;
  // A host function from any C++ callable; see convert.hpp for argument conversion.
  template <class F>
  Function create_function(F&& fn) const;
  Function create_raw_function(HostCallback callback) const;
  // Runs `source` as a chunk, returning its results.
  MultiValue exec(std::string_view source, std::string_view chunkname = "=exec") const;

  template <class T, class Describe>
  void register_type(std::string name, Describe&& describe) const;
  template <class T>
  bool is_registered() const;
  template <class T, class... Args>
  AnyUserData create_userdata(Args&&... args) const;

  void collect_garbage() const;
  bool gc_step(int kilobytes) const;  // true when a cycle finished
  void set_gc_incremental(int pause = 0, int step_multiplier = 0, int step_size = 0) const;
  void set_gc_generational(int minor_multiplier = 0, int major_multiplier = 0) const;

  // Hooks (hooks.hpp). set_hook replaces the user hook; add_hook adds another user.
  void set_hook(const HookTriggers& triggers, HookCallback callback) const;
  void remove_hook() const;
  HookId add_hook(const HookTriggers& triggers, HookCallback callback) const;
  void remove_hook(HookId id) const;

  // Coroutines and async functions.
  Thread create_thread(const Function& function) const;
  // fn(args…) returns an AsyncPoll: polled until ready; Pending suspends the calling
  // coroutine until its waker is woken.
  template <class F>
  Function create_async_function(F&& fn) const;
  Function create_raw_async_function(AsyncFactory factory) const;
  AsyncCall async_call(const Function& function, MultiValue args = {}) const;

  std::size_t used_memory() const noexcept;
  void set_memory_limit(std::size_t bytes) const noexcept;
  long long live_references() const noexcept;
  bool is_closed() const noexcept;
  // The binding's core, for its own templates; tools look inside through cxxlua/testing.hpp.
  const std::shared_ptr<internal::StateCore>& core() const noexcept { return core_; }

 protected:
  std::shared_ptr<internal::StateCore> core_;
};

// Owns the lua_State: closing it (explicitly or on destruction) runs every finalizer.
// Meanwhile the binding refuses entries (StateClosed), and an error a host function
// raises reaches Lua as its message string, not an error box: Lua gives no finalizer to
// an object created while it closes.
class State : public StateHandle {
 public:
  explicit State(const StateOptions& options = {});
  State(State&&) noexcept = default;
  State& operator=(State&&) = delete;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State();
  void close();
};

}  // namespace cxxlua
