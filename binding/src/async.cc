#include <new>

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/executor.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"
#include "lua_exception.hpp"

namespace cxxlua {

// ---------------------------------------------------------------------------------------
// WorkerPool

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
          if (jobs_.empty()) return;
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void WorkerPool::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  changed_.notify_one();
}

namespace internal {

// The private value an async function yields while pending. Only its address matters.
const char kPendingMarker = 0;
const char kAsyncFunctionKey = 0;
const char kFutureKey = 0;

bool is_pending_marker(lua_State* L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &kPendingMarker;
}

namespace {

constexpr int kPending = -2;

// Polls the future in `box` once; pushes its results when ready. C++ objects live here only.
int poll_future(lua_State* L, Box<AsyncPoll>* box, bool first, int nargs) {
  StateCore* core = StateCore::of(L);
  std::exception_ptr failure;
  try {
    CurrentThreadScope current(core, L);
    StateHandle handle(core->shared_from_this());
    if (first) {
      auto* factory_box = static_cast<Box<AsyncFactory>*>(lua_touserdata(L, lua_upvalueindex(1)));
      internal::ensure_stack(L, nargs + 3);
      for (int i = 1; i <= nargs; ++i) lua_pushvalue(L, i);
      MultiValue args = internal::pop_values(*core, L, nargs);
      new (box->storage) AsyncPoll(factory_box->get()(handle, args));
      box_constructed(L, box);
    }
    std::optional<MultiValue> ready = box->get()(handle, core->current_waker);
    if (!ready) return kPending;
    const int count = static_cast<int>(ready->size());
    internal::ensure_stack(L, count);
    for (const Value& value : *ready) internal::push_value(L, *core, value);
    return count;
  }
  CXXLUA_LET_LUA_ERRORS_PASS
  catch (...) {
    failure = std::current_exception();
  }
  set_raising(core, failure);
  failure = nullptr;
  return kRaisePending;
}

int async_step(lua_State* L, int box_index, bool first, int nargs);

int async_continue(lua_State* L, int status, lua_KContext context) {
  (void)status;
  const int box_index = static_cast<int>(context);
  lua_settop(L, box_index);  // drop whatever the driver resumed us with
  return async_step(L, box_index, false, 0);
}

int async_step(lua_State* L, int box_index, bool first, int nargs) {
  auto* box = static_cast<Box<AsyncPoll>*>(lua_touserdata(L, box_index));
  const int top = lua_gettop(L);
  const int results = poll_future(L, box, first, nargs);
  if (results == kRaisePending) {
    lua_settop(L, top);
    return raise_pending(L);
  }
  if (results != kPending) return results;
  if (!lua_isyieldable(L)) {
    return luaL_error(L, "async function is pending outside a coroutine (call it through async_call)");
  }
  lua_pushlightuserdata(L, const_cast<char*>(&kPendingMarker));
  return lua_yieldk(L, 1, box_index, &async_continue);
}

// The C function behind every async function: the future lives in a userdata in this
// frame, so it survives suspension and is released with the coroutine.
int async_entry(lua_State* L) {
  const int nargs = lua_gettop(L);
  (void)push_box<AsyncPoll>(L, &kFutureKey);
  return async_step(L, lua_gettop(L), true, nargs);
}

// coroutine.resume and coroutine.wrap that pass the pending marker up to their own
// resumer instead of handing it to user code (mlua #499).
int resume_nested(lua_State* L, lua_State* co, int nargs, bool wrapped);

int resume_continue(lua_State* L, int status, lua_KContext context) {
  (void)status;
  const bool wrapped = (context & 1) != 0;
  const int co_index = static_cast<int>(context >> 1);
  lua_settop(L, co_index);
  return resume_nested(L, lua_tothread(L, co_index), 0, wrapped);
}

int resume_nested(lua_State* L, lua_State* co, int nargs, bool wrapped) {
  const int co_index = lua_gettop(L) - nargs;
  if (!lua_checkstack(co, nargs)) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "too many arguments to resume");
    return wrapped ? lua_error(L) : 2;
  }
  const char* why = nullptr;
  if (co == L) {
    why = "cannot resume non-suspended coroutine";
  } else if (lua_status(co) == LUA_OK) {
    lua_Debug ar;
    if (lua_getstack(co, 0, &ar))
      why = "cannot resume non-suspended coroutine";
    else if (lua_gettop(co) == 0)
      why = "cannot resume dead coroutine";
  } else if (lua_status(co) != LUA_YIELD) {
    why = "cannot resume dead coroutine";
  }
  if (why != nullptr) {
    if (wrapped) return luaL_error(L, "%s", why);
    lua_pushboolean(L, 0);
    lua_pushstring(L, why);
    return 2;
  }
  lua_xmove(L, co, nargs);
  int nresults = 0;
  const int status = lua_resume(co, L, nargs, &nresults);
  // Canary pending_swallowed (mlua #499): the marker comes back to user code as an
  // ordinary yield value and the nested coroutine is never polled again.
  if (status == LUA_YIELD && nresults == 1 && is_pending_marker(co, -1) && !CXXLUA_CANARY(pending_swallowed)) {
    lua_pop(co, 1);
    if (!lua_isyieldable(L)) {
      if (wrapped) return luaL_error(L, "async function is pending outside a coroutine");
      lua_pushboolean(L, 0);
      lua_pushliteral(L, "async function is pending outside a coroutine");
      return 2;
    }
    lua_pushlightuserdata(L, const_cast<char*>(&kPendingMarker));
    return lua_yieldk(L, 1, (static_cast<lua_KContext>(co_index) << 1) | (wrapped ? 1 : 0), &resume_continue);
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nresults + 1)) {
      lua_pop(co, nresults);
      return luaL_error(L, "too many results to resume");
    }
    if (!wrapped) lua_pushboolean(L, 1);
    lua_xmove(co, L, nresults);
    return wrapped ? nresults : nresults + 1;
  }
  lua_xmove(co, L, 1);  // the error object
  if (wrapped) {
#if LUA_VERSION_RELEASE_NUM >= 50406
    lua_closethread(co, L);
#else
    lua_resetthread(co);
#endif
    if (lua_type(L, -1) == LUA_TSTRING) {  // as Lua's auxwrap: add position information
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  lua_pushboolean(L, 0);
  lua_insert(L, -2);
  return 2;
}

int coroutine_resume(lua_State* L) {
  lua_State* co = lua_tothread(L, 1);
  luaL_argexpected(L, co != nullptr, 1, "coroutine");
  return resume_nested(L, co, lua_gettop(L) - 1, false);
}

int coroutine_wrap_call(lua_State* L) {
  lua_State* co = lua_tothread(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  return resume_nested(L, co, lua_gettop(L) - 1, true);
}

int coroutine_wrap(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, &coroutine_wrap_call, 1);
  return 1;
}

}  // namespace

void install_async(lua_State* L, bool has_coroutine_library) {
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, &destroy_box<AsyncFactory>);
  lua_setfield(L, -2, "__gc");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kAsyncFunctionKey);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, &destroy_box<AsyncPoll>);
  lua_setfield(L, -2, "__gc");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kFutureKey);
  if (!has_coroutine_library) return;
  lua_getglobal(L, LUA_COLIBNAME);
  lua_pushcfunction(L, &coroutine_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, &coroutine_wrap);
  lua_setfield(L, -2, "wrap");
  lua_pop(L, 1);
}

void push_async_function(lua_State* L, AsyncFactory& factory) {
  push_boxed(L, &kAsyncFunctionKey, factory);
  lua_pushcclosure(L, &async_entry, 1);
}

}  // namespace internal

// ---------------------------------------------------------------------------------------
// Public API

bool is_pending_marker(const Value& value) noexcept {
  const auto* pointer = value.get_if<LightUserData>();
  return pointer != nullptr && pointer->pointer == &internal::kPendingMarker;
}

Function StateHandle::create_raw_async_function(AsyncFactory factory) const {
  Entry entry(*core_, "StateHandle::create_async_function");
  return std::move(*internal::protected_value(*core_, entry.L(), [&](lua_State* L) {
                      internal::push_async_function(L, factory);
                    }).get_if<Function>());
}

AsyncCall StateHandle::async_call(const Function& function, MultiValue args) const {
  return AsyncCall(*this, create_thread(function), std::move(args));
}

AsyncCall::AsyncCall(StateHandle state, Thread thread, MultiValue args)
    : state_(std::make_unique<StateHandle>(std::move(state))),
      thread_(std::move(thread)),
      args_(std::move(args)),
      wake_(std::make_shared<TaskWake>()) {}

AsyncCall::~AsyncCall() {
  if (!state_ || finished_ || !started_ || !thread_.state_alive()) return;
  try {
    thread_.close();
  } catch (...) {
    // The coroutine is released with its handle either way.
  }
}

std::optional<MultiValue> AsyncCall::poll() {
  if (finished_) throw Error(ErrorKind::Coroutine, "async call already finished");
  if (started_ && !wake_->woken.exchange(false)) return std::nullopt;
  started_ = true;
  ++resumes_;
  const Waker waker(wake_);
  bool pending = false;
  MultiValue results;
  try {
    results = internal::resume_thread(*state_->core(), thread_, args_, &waker, &pending);
  } catch (...) {
    finished_ = true;
    throw;
  }
  args_.clear();
  if (pending) return std::nullopt;
  if (thread_.status() == ThreadStatus::Finished) {
    finished_ = true;
    return results;
  }
  // A plain coroutine.yield to the driver: values are dropped, resume at once.
  wake_->woken.store(true);
  return std::nullopt;
}

MultiValue Executor::block_on(AsyncCall& call) {
  call.attach(signal_);
  for (;;) {
    unsigned long long generation;
    {
      std::lock_guard<std::mutex> lock(signal_->mutex);
      generation = signal_->generation;
    }
    if (auto results = call.poll()) return std::move(*results);
    if (call.woken()) continue;
    std::unique_lock<std::mutex> lock(signal_->mutex);
    const bool woke = signal_->changed.wait_for(lock, stall_bound_,
                                                [&] { return signal_->generation != generation || call.woken(); });
    if (!woke) {
      throw Error(ErrorKind::Coroutine,
                  "async call stalled: pending with no wake within " + std::to_string(stall_bound_.count()) + " ms");
    }
  }
}

}  // namespace cxxlua
