#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"

namespace cxxlua {

namespace {

bool has_active_frames(lua_State* co) {
  lua_Debug ar;
  return lua_getstack(co, 0, &ar) != 0;
}

// Why `co` cannot be resumed from L, or null.
const char* not_resumable(lua_State* L, lua_State* co) {
  if (co == L) return "cannot resume the running coroutine";
  switch (lua_status(co)) {
    case LUA_YIELD: return nullptr;
    case LUA_OK:
      if (has_active_frames(co)) return "cannot resume non-suspended coroutine";
      if (lua_gettop(co) == 0) return "cannot resume dead coroutine";
      return nullptr;
    default: return "cannot resume dead coroutine";
  }
}

struct WakerScope {
  WakerScope(StateCore& c, const Waker* waker) : core(c), saved(c.current_waker) {
    if (waker != nullptr) core.current_waker = *waker;
  }
  ~WakerScope() { core.current_waker = saved; }
  WakerScope(const WakerScope&) = delete;
  WakerScope& operator=(const WakerScope&) = delete;
  StateCore& core;
  Waker saved;
};

}  // namespace

namespace internal {

MultiValue resume_thread(StateCore& core, const Thread& thread, const MultiValue& args, const Waker* waker,
                         bool* pending) {
  Entry entry(core, "Thread::resume");
  lua_State* L = entry.L();
  lua_State* co = thread.raw_thread();
  if (const char* why = not_resumable(L, co)) throw Error(ErrorKind::Coroutine, why);
  const int nargs = static_cast<int>(args.size());
  if (!lua_checkstack(co, nargs + 1)) throw Error(ErrorKind::StackOverflow, "no room for the resume arguments");
  for (const Value& arg : args) push_value(co, core, arg);
  int nresults = 0;
  int status;
  {
    WakerScope scope(core, waker);
    status = lua_resume(co, L, nargs, &nresults);
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (status == LUA_YIELD && nresults == 1 && internal::is_pending_marker(co, -1)) {
      lua_pop(co, 1);
      if (pending == nullptr) {
        throw Error(ErrorKind::Coroutine,
                    "an async function is pending in a coroutine that no async driver runs (use async_call)");
      }
      *pending = true;
      return {};
    }
    // Pop exactly the values handed over: after a hook yield there are none, and the
    // values below them are the suspended function's live registers (mlua #723).
    // Canary hook_yield_truncates: reset the suspended coroutine's top to zero instead.
    if (CXXLUA_CANARY(hook_yield_truncates) && status == LUA_YIELD && nresults == 0) lua_settop(co, 0);
    if (!lua_checkstack(L, nresults + 1)) {
      lua_pop(co, nresults);
      throw Error(ErrorKind::StackOverflow, "no room for the coroutine's results");
    }
    lua_xmove(co, L, nresults);
    return pop_values(core, L, nresults);
  }
  // A coroutine can die with its stack full: read the error on our side (the entry made room).
  lua_xmove(co, L, 1);
  throw pop_error(L, status);
}

}  // namespace internal

lua_State* Thread::raw_thread() const {
  StateCore& core = core_ref();
  if (core.closed() || ref_ == LUA_NOREF) {
    throw Error(ErrorKind::StateClosed, "thread used after its state was closed");
  }
  Entry entry(core, "Thread::raw_thread");
  push(entry.L(), core_.get());
  lua_State* co = lua_tothread(entry.L(), -1);
  lua_pop(entry.L(), 1);
  return co;  // kept alive by this handle's reference
}

MultiValue Thread::resume_values(const MultiValue& args) const {
  return internal::resume_thread(core_ref(), *this, args, nullptr, nullptr);
}

ThreadStatus Thread::status() const {
  lua_State* co = raw_thread();
  Entry entry(core_ref(), "Thread::status");
  if (co == entry.L()) return ThreadStatus::Running;
  switch (lua_status(co)) {
    case LUA_YIELD: return ThreadStatus::Resumable;
    case LUA_OK:
      if (has_active_frames(co)) return ThreadStatus::Normal;
      return lua_gettop(co) == 0 ? ThreadStatus::Finished : ThreadStatus::Resumable;
    default: return ThreadStatus::Error;
  }
}

void Thread::close() const {
  lua_State* co = raw_thread();
  Entry entry(core_ref(), "Thread::close");
  lua_State* L = entry.L();
  // Canary resume_running (mlua #416): the running coroutine is reset from a host handle.
  if (!CXXLUA_CANARY(resume_running) && (co == L || (lua_status(co) == LUA_OK && has_active_frames(co)))) {
    throw Error(ErrorKind::Coroutine, "cannot close a running coroutine");
  }
  const bool died_with_error = lua_status(co) != LUA_OK && lua_status(co) != LUA_YIELD;
#if LUA_VERSION_RELEASE_NUM >= 50406
  const int status = lua_closethread(co, L);
#else
  const int status = lua_resetthread(co);
#endif
  if (status != LUA_OK) {
    lua_xmove(co, L, 1);
    Error error = internal::pop_error(L, status);
    lua_settop(co, 0);
    if (!died_with_error) throw error;  // a closing method failed
  }
}

void Thread::reset(const Function& function) const {
  close();
  lua_State* co = raw_thread();
  Entry entry(core_ref(), "Thread::reset");
  function.push(entry.L(), core_.get());
  lua_xmove(entry.L(), co, 1);
}

Thread StateHandle::create_thread(const Function& function) const {
  Entry entry(*core_, "StateHandle::create_thread");
  Value value = internal::protected_value(*core_, entry.L(), [&](lua_State* L) {
    lua_State* co = lua_newthread(L);
    function.push(L, core_.get());
    lua_xmove(L, co, 1);
  });
  return std::move(*value.get_if<Thread>());
}

}  // namespace cxxlua
