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
// StateCore

StateCore::StateCore(const StateOptions& options)
    : inner_allocator_(options.allocator),
      inner_allocator_data_(options.allocator_data),
      thread_safe_(options.thread_safe),
      observer_(options.reference_observer),
      owner_(std::this_thread::get_id()) {
  memory_limit_.store(options.memory_limit);
}

void* StateCore::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* core = static_cast<StateCore*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    if (ptr != nullptr) {
      if (!core->tracked_objects_.empty()) core->destroy_tracked_in(ptr, osize);
      if (core->inner_allocator_ != nullptr) {
        core->inner_allocator_(core->inner_allocator_data_, ptr, osize, 0);
      } else {
        std::free(ptr);
      }
      core->used_memory_.fetch_sub(old);
    }
    return nullptr;
  }
  const std::size_t limit = core->memory_limit_.load();
  // Only growth may fail: Lua assumes shrinking never does.
  if (limit != 0 && nsize > old && core->used_memory_.load() - old + nsize > limit) {
    core->refused_allocations_.fetch_add(1);
    return nullptr;
  }
  void* block = core->inner_allocator_ != nullptr
                    ? core->inner_allocator_(core->inner_allocator_data_, ptr, osize, nsize)
                    : std::realloc(ptr, nsize);
  if (block == nullptr) core->refused_allocations_.fetch_add(1);
  if (block != nullptr) {
    core->used_memory_.fetch_add(nsize);
    core->used_memory_.fetch_sub(old);
  }
  return block;
}

void StateCore::track_object(void* object, void (*destroy)(void*) noexcept) noexcept {
  try {
    tracked_objects_.emplace(reinterpret_cast<std::uintptr_t>(object), destroy);
  } catch (...) {
    // Out of C++ memory: the object is only guarded by its __gc, as before tracking.
  }
}

void StateCore::note_warning_piece(const char* piece, bool to_be_continued) noexcept {
  // Lua reports a failed __gc call in pieces: "error in ", "__gc", " (", message, ")".
  // Only a memory error can keep one of our (non-raising) finalizers from running.
  static const char* const expected[] = {"error in ", "__gc", " (", "not enough memory", ")"};
  if (warning_piece_ >= 0 && warning_piece_ < 5 && std::strcmp(piece, expected[warning_piece_]) == 0) {
    ++warning_piece_;
  } else {
    warning_piece_ = -1;  // some other warning: ignore it to its end
  }
  if (!to_be_continued) {
    // Counted only when an allocation was refused since the last one counted: Lua code can
    // raise "not enough memory" from a finalizer of its own, or warn those very words.
    const std::size_t refused = refused_allocations_.load();
    if (warning_piece_ == 5 && refused > refused_when_last_counted_) {
      ++finalizer_call_failures_;
      refused_when_last_counted_ = refused;
    }
    warning_piece_ = 0;
  }
}

void StateCore::untrack_object(void* object) noexcept {
  tracked_objects_.erase(reinterpret_cast<std::uintptr_t>(object));
}

void StateCore::destroy_tracked_in(void* block, std::size_t size) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(block);
  auto it = tracked_objects_.lower_bound(begin);
  while (it != tracked_objects_.end() && it->first < begin + size) {
    const auto [address, destroy] = *it;
    tracked_objects_.erase(it);
    ++finalizers_skipped_;
    internal::FinalizerScope scope(this);  // reference drops are deferred, as in __gc
    sweeping_ = true;
    destroy(reinterpret_cast<void*>(address));
    sweeping_ = false;
    it = tracked_objects_.lower_bound(begin);  // the destructor may have changed the map
  }
}

namespace {

int panic_handler(lua_State* L) {
  const char* message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)";
  std::fprintf(stderr, "cxxlua: unprotected Lua error (a binding bug): %s\n", message);
  std::fflush(stderr);
  std::abort();
}

// Warnings are dropped (as luaL_newstate's default does), but Lua's report of a __gc call
// that failed for lack of memory is counted: see StateCore::track_object.
void count_finalizer_failures(void* ud, const char* message, int to_be_continued) {
  auto* core = static_cast<StateCore*>(ud);
  core->note_warning_piece(message, to_be_continued != 0);
}

}  // namespace

void StateCore::open(lua_State* L) noexcept {
  canary_.last_main = L;
  *static_cast<StateCore**>(lua_getextraspace(L)) = this;
  lua_atpanic(L, &panic_handler);
  lua_setwarnf(L, &count_finalizer_failures, this);
  main_.store(L, std::memory_order_release);
}

void StateCore::close() {
  std::unique_lock<std::recursive_mutex> guard(lock_, std::defer_lock);
  if (thread_safe_) guard.lock();
  lua_State* L = main();
  if (L == nullptr) return;
  if (!thread_safe_) check_thread("State::close");
  if (entries_.load() > 0) {
    throw Error(ErrorKind::Runtime, "cannot close a state from inside one of its own calls");
  }
  if (active_borrows > 0) {
    throw Error(ErrorKind::Borrow, "cannot close the state while a userdata is borrowed");
  }
  closing_.store(true);
  lua_close(L);  // runs every pending finalizer; reference drops meanwhile do nothing
  main_.store(nullptr, std::memory_order_release);
  current_ = nullptr;
  closing_.store(false);
  // The handles dropped while Lua closed (finalizers of userdata that held them) are
  // released: their slots went with the registry. The observer hears of each.
  std::lock_guard<std::mutex> deferred_guard(deferred_mutex_);
  for (const int ref : deferred_releases_) {
    live_references_.fetch_sub(1);
    released_references_.fetch_add(1);
    if (observer_ != nullptr) observer_->on_release(ref);
  }
  deferred_releases_.clear();
  has_deferred_.store(false);
}

void StateCore::check_thread(const char* where) const {
  if (thread_safe_ || std::this_thread::get_id() == owner_) return;
  std::fprintf(stderr,
               "cxxlua: %s: a state that is not thread-safe was used from a second thread "
               "(create it with StateOptions::thread_safe)\n",
               where);
  std::fflush(stderr);
  std::abort();
}

bool StateCore::must_defer_release() const noexcept { return closing_.load() || finalizer_depth > 0; }

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

// ---------------------------------------------------------------------------------------
// Protected calls

namespace detail {
namespace {

int invoke_body(ProtectedCall* call, lua_State* L) {
  try {
    return call->invoke(call->body, L);
  }
  CXXLUA_LET_LUA_ERRORS_PASS
  catch (...) {
    call->exception = std::current_exception();
    return 0;
  }
}

int protected_trampoline(lua_State* L) {
  auto* call = static_cast<ProtectedCall*>(lua_touserdata(L, 1));
  lua_remove(L, 1);
  return invoke_body(call, L);
}

int traceback_handler(lua_State* L) {
  if (lua_type(L, 1) == LUA_TSTRING) luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

}  // namespace

void run_protected(lua_State* L, int nargs, int nresults, ProtectedCall& call) {
  if (!lua_checkstack(L, 3)) {
    lua_pop(L, nargs);
    throw Error(ErrorKind::StackOverflow, "no room on the Lua stack for a protected call");
  }
  const int base = lua_gettop(L) - nargs;  // the values below the arguments stay
  int handler = 0;
  if (call.traceback) {
    lua_pushcfunction(L, &traceback_handler);
    handler = base + 1;
  }
  lua_pushcfunction(L, &protected_trampoline);
  lua_pushlightuserdata(L, &call);
  lua_rotate(L, base + 1, call.traceback ? 3 : 2);
  const int status = lua_pcall(L, nargs + 1, nresults, handler);
  if (handler != 0) lua_remove(L, handler);
  if (status != LUA_OK) throw pop_error(L, status);
  if (call.exception) {
    lua_settop(L, base);
    std::rethrow_exception(call.exception);
  }
}

Error pop_error(lua_State* L, int status) {
  const int type = lua_type(L, -1);
  std::string message;
  std::string traceback;
  // Looking for an error box takes two slots (a coroutine may die with a full stack).
  if (type == LUA_TUSERDATA && lua_checkstack(L, 2) && lua_getmetatable(L, -1)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &internal::kErrorBoxKey);
    const bool is_box = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (is_box) {
      auto* box = static_cast<std::shared_ptr<const Error>*>(lua_touserdata(L, -1));
      std::shared_ptr<const Error> error = *box;
      lua_pop(L, 1);
      if (error) return *error;
      return Error(ErrorKind::Callback, "error lost while it was raised");
    }
  }
  if (type == LUA_TSTRING) {
    std::size_t length = 0;
    const char* text = lua_tolstring(L, -1, &length);
    message.assign(text, length);
    const std::size_t at = message.find("\nstack traceback:");
    if (at != std::string::npos) {
      traceback = message.substr(at + 1);
      message.resize(at);
    }
  } else if (type == LUA_TNUMBER) {
    char buffer[64];
    if (lua_isinteger(L, -1)) {
      std::snprintf(buffer, sizeof buffer, "%" PRId64, static_cast<int64_t>(lua_tointeger(L, -1)));
    } else {
      std::snprintf(buffer, sizeof buffer, "%.14g", static_cast<double>(lua_tonumber(L, -1)));
    }
    message = buffer;
  } else {
    message = std::string("(error object is a ") + lua_typename(L, type) + " value)";
  }
  lua_pop(L, 1);
  switch (status) {
    case LUA_ERRMEM: return Error(ErrorKind::Memory, message.empty() ? "not enough memory" : message);
    case LUA_ERRSYNTAX: return Error(ErrorKind::Syntax, message);
    default: return Error(ErrorKind::Runtime, message, traceback);
  }
}

constexpr int kRawInteger = -2;

void raw_from_stack(StateCore& core, lua_State* L, int idx, RawValue& out) {
  idx = lua_absindex(L, idx);
  const int type = lua_type(L, idx);
  switch (type) {
    case LUA_TNONE:
    case LUA_TNIL: out.type = LUA_TNIL; return;
    case LUA_TBOOLEAN:
      out.type = type;
      out.boolean = lua_toboolean(L, idx) != 0;
      return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        out.type = kRawInteger;
        out.integer = lua_tointeger(L, idx);
      } else {
        out.type = LUA_TNUMBER;
        out.number = lua_tonumber(L, idx);
      }
      return;
    case LUA_TLIGHTUSERDATA:
      out.type = type;
      out.pointer = lua_touserdata(L, idx);
      return;
    default:
      // A copy for luaL_ref, and luaL_ref's own slot: a call's results may fill the stack
      // to its last guaranteed slot (a Lua function returning 20 or more values).
      luaL_checkstack(L, 2, "no room to turn a value into a handle");
      lua_pushvalue(L, idx);
      out.ref = core.take_reference(L);
      out.type = type;
      return;
  }
}

Value value_from_raw(const std::shared_ptr<StateCore>& core, const RawValue& raw) noexcept {
  switch (raw.type) {
    case LUA_TBOOLEAN: return Value(raw.boolean);
    case kRawInteger: return Value(raw.integer);
    case LUA_TNUMBER: return Value(raw.number);
    case LUA_TLIGHTUSERDATA: return Value(LightUserData{raw.pointer});
    case LUA_TSTRING: return Value(String(core, raw.ref));
    case LUA_TTABLE: return Value(Table(core, raw.ref));
    case LUA_TFUNCTION: return Value(Function(core, raw.ref));
    case LUA_TTHREAD: return Value(Thread(core, raw.ref));
    case LUA_TUSERDATA: return Value(AnyUserData(core, raw.ref));
    default: return Value();
  }
}

void release_raws(StateCore& core, const RawValue* raws, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    switch (raws[i].type) {
      case LUA_TSTRING:
      case LUA_TTABLE:
      case LUA_TFUNCTION:
      case LUA_TTHREAD:
      case LUA_TUSERDATA: core.release_reference(raws[i].ref); break;
      default: break;
    }
  }
}

void ensure_stack(lua_State* L, int n) {
  if (n < 0 || !lua_checkstack(L, n)) {
    throw Error(ErrorKind::StackOverflow, "cannot grow the Lua stack by " + std::to_string(n) + " values");
  }
}

void push_value(lua_State* L, const StateCore& core, const Value& value) {
  switch (value.type()) {
    case Type::Nil: lua_pushnil(L); return;
    case Type::Boolean: lua_pushboolean(L, *value.get_if<bool>()); return;
    case Type::Integer: lua_pushinteger(L, *value.get_if<lua_Integer>()); return;
    case Type::Number: lua_pushnumber(L, *value.get_if<lua_Number>()); return;
    case Type::LightUserData: lua_pushlightuserdata(L, value.get_if<LightUserData>()->pointer); return;
    default: value.reference()->push(L, &core); return;
  }
}

MultiValue pop_values(StateCore& core, lua_State* L, int count) {
  MultiValue values;
  values.reserve(static_cast<std::size_t>(count));
  std::vector<RawValue> raws(static_cast<std::size_t>(count));
  int done = 0;
  try {
    protect(L, count, 0, [&](lua_State* state) {
      for (int i = 1; i <= count; ++i) {
        raw_from_stack(core, state, i, raws[static_cast<std::size_t>(i - 1)]);
        done = i;
      }
      return 0;
    });
  } catch (...) {
    release_raws(core, raws.data(), static_cast<std::size_t>(done));
    throw;
  }
  const auto shared = core.shared_from_this();
  for (const RawValue& raw : raws) values.push_back(value_from_raw(shared, raw));
  return values;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Error box and host function metatables

namespace internal {

const char kErrorBoxKey = 0;
thread_local lua_State* callback_state = nullptr;
const char kHostFunctionKey = 0;

FinalizerScope::FinalizerScope(StateCore* c) noexcept : core(c) { ++core->finalizer_depth; }
FinalizerScope::~FinalizerScope() { --core->finalizer_depth; }

namespace {

using Slot = std::shared_ptr<const Error>;

void destroy_error_slot(void* slot) noexcept { static_cast<Slot*>(slot)->~Slot(); }

int error_box_gc(lua_State* L) {
  FinalizerScope scope(StateCore::of(L));
  void* slot = lua_touserdata(L, 1);
  StateCore::of(L)->untrack_object(slot);
  destroy_error_slot(slot);
  return 0;
}

int error_box_tostring(lua_State* L) {
  const auto* slot = static_cast<std::shared_ptr<const Error>*>(lua_touserdata(L, 1));
  lua_pushstring(L, *slot ? (*slot)->what() : "callback error");
  return 1;
}

void new_metatable(lua_State* L, const void* key, const char* name, lua_CFunction gc, lua_CFunction tostring) {
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  if (tostring != nullptr) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

// Runs the callback with every C++ object scoped here; returns its result count or
// kRaisePending. Nothing in this frame survives into the lua_error that may follow.
int call_host_function(lua_State* L, bool& yield) {
  StateCore* core = StateCore::of(L);
  auto* box = static_cast<Box<HostCallback>*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::exception_ptr failure;
  core->yield_requested = false;
  try {
    CurrentThreadScope current(core, L);
    CallbackStateScope callback(L);
    StateHandle handle(core->shared_from_this());
    const int argc = lua_gettop(L);
    detail::ensure_stack(L, argc + 3);
    for (int i = 1; i <= argc; ++i) lua_pushvalue(L, i);
    MultiValue args = detail::pop_values(*core, L, argc);
    MultiValue results = box->get()(handle, args);
    const int count = static_cast<int>(results.size());
    // Canary missing_checkstack (sol2 #696): results pushed past the guaranteed slots
    // without lua_checkstack.
    if (!CXXLUA_CANARY(missing_checkstack)) detail::ensure_stack(L, count);
    for (const Value& value : results) detail::push_value(L, *core, value);
    yield = std::exchange(core->yield_requested, false);
    return count;
  }
  CXXLUA_LET_LUA_ERRORS_PASS
  catch (...) {
    failure = std::current_exception();
  }
  core->yield_requested = false;
  lua_settop(L, 0);
  set_raising(core, failure);
  failure = nullptr;
  return kRaisePending;
}

}  // namespace

// Raises core->raising as an error box. Called with no C++ object alive on the frame.
int raise_pending(lua_State* L) {
  StateCore* core = StateCore::of(L);
  if (core->closing()) {
    // Lua gives no finalizer to an object made while lua_close runs the last finalizers
    // (GCSTPCLS): a box would be freed without its __gc. Raise the message as a string.
    lua_pushstring(L, core->raising != nullptr ? core->raising->what() : "error lost while it was raised");
    core->raising = nullptr;
    return lua_error(L);
  }
  void* memory = lua_newuserdatauv(L, sizeof(Slot), 0);
  auto* slot = new (memory) Slot();
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kErrorBoxKey);
  lua_setmetatable(L, -2);
  *slot = std::move(core->raising);
  core->track_object(slot, &destroy_error_slot);
  return lua_error(L);
}

void set_raising(StateCore* core, const std::exception_ptr& exception) noexcept {
  try {
    try {
      std::rethrow_exception(exception);
    } catch (const Error& error) {
      auto cause = std::make_shared<const Error>(error);
      core->raising =
          std::make_shared<const Error>(ErrorKind::Callback, error.message(), std::string(), std::move(cause));
    } catch (const std::exception& error) {
      core->raising = std::make_shared<const Error>(ErrorKind::Callback, error.what());
    } catch (...) {
      core->raising = std::make_shared<const Error>(ErrorKind::Callback, "unknown C++ exception");
    }
  } catch (...) {
    core->raising = nullptr;  // out of memory describing it: raise_pending says "lost"
  }
}

int host_function_entry(lua_State* L) {
  bool yield = false;
  const int results = call_host_function(L, yield);
  if (results == kRaisePending) return raise_pending(L);
  if (yield) return lua_yield(L, results);  // resume's arguments become our results
  return results;
}

void install_metatables(lua_State* L) {
  new_metatable(L, &kErrorBoxKey, "cxxlua.error", &error_box_gc, &error_box_tostring);
  new_metatable(L, &kHostFunctionKey, "cxxlua.function", &destroy_box<HostCallback>, nullptr);
}

// Called inside a protected call (Box: nothing leaks whichever step fails).
void push_host_function(lua_State* L, HostCallback& callback) {
  push_boxed(L, &kHostFunctionKey, callback);
  lua_pushcclosure(L, &host_function_entry, 1);
}

}  // namespace internal

// ---------------------------------------------------------------------------------------
// State

namespace {

void open_libraries(lua_State* L, unsigned libraries) {
  struct Library {
    unsigned flag;
    const char* name;
    lua_CFunction open;
  };
  static const Library all[] = {
      {library::Base, LUA_GNAME, luaopen_base},
      {library::Coroutine, LUA_COLIBNAME, luaopen_coroutine},
      {library::Table, LUA_TABLIBNAME, luaopen_table},
      {library::String, LUA_STRLIBNAME, luaopen_string},
      {library::Math, LUA_MATHLIBNAME, luaopen_math},
      {library::Utf8, LUA_UTF8LIBNAME, luaopen_utf8},
      {library::Io, LUA_IOLIBNAME, luaopen_io},
      {library::Os, LUA_OSLIBNAME, luaopen_os},
      {library::Package, LUA_LOADLIBNAME, luaopen_package},
      {library::Debug, LUA_DBLIBNAME, luaopen_debug},
  };
  for (const Library& lib : all) {
    if ((libraries & lib.flag) == 0) continue;
    luaL_requiref(L, lib.name, lib.open, 1);
    lua_pop(L, 1);
  }
}

}  // namespace

State::State(const StateOptions& options) : StateHandle(std::make_shared<StateCore>(options)) {
  lua_State* L = lua_newstate(&StateCore::allocate, core_.get());
  if (L == nullptr) throw Error(ErrorKind::Memory, "cannot create a Lua state");
  core_->open(L);
  try {
    Entry entry(*core_, "State::State");
    detail::protect(entry.L(), 0, 0, [&](lua_State* state) {
      internal::install_metatables(state);
      open_libraries(state, options.libraries);
      internal::install_async(state, (options.libraries & library::Coroutine) != 0);
      return 0;
    });
  } catch (...) {
    core_->close();
    throw;
  }
}

State::~State() {
  if (!core_) return;
  try {
    core_->close();
  } catch (const Error& error) {
    std::fprintf(stderr, "cxxlua: ~State: %s\n", error.what());
    std::fflush(stderr);
    std::abort();
  }
}

void State::close() { core_->close(); }

}  // namespace cxxlua
