// The state's life: StateCore's open and close, the owner-thread check, and State.
#include "cxxlua/state.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "cxxlua/testing.hpp"
#include "internal.hpp"
#include "lua_exception.hpp"

namespace cxxlua {

// ---------------------------------------------------------------------------------------
// StateCore: open, close, thread

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
    internal::protect(entry.L(), 0, 0, [&](lua_State* state) {
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

std::size_t StateHandle::used_memory() const noexcept { return core_->used_memory(); }
void StateHandle::set_memory_limit(std::size_t bytes) const noexcept { core_->set_memory_limit(bytes); }
long long StateHandle::live_references() const noexcept { return core_->live_references(); }
bool StateHandle::is_closed() const noexcept { return core_->closed(); }

namespace testing {

lua_State* main_thread(const StateHandle& state) noexcept { return state.core()->main(); }
std::size_t finalizers_skipped_by_lua(const StateHandle& state) noexcept {
  return state.core()->finalizers_skipped_by_lua();
}
std::size_t finalizer_call_failures(const StateHandle& state) noexcept {
  return state.core()->finalizer_call_failures();
}
StateHandle state_of(const Reference& reference) noexcept { return StateHandle(reference.shared_core()); }
bool same_state(const Reference& reference, const StateHandle& state) noexcept {
  return reference.shared_core() == state.core();
}

}  // namespace testing

}  // namespace cxxlua
