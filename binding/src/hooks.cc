#include <numeric>
#include <unordered_map>

#include "cxxlua/cxxlua.hpp"
#include "internal.hpp"
#include "lua_exception.hpp"

namespace cxxlua {

struct HookUser {
  HookId id;
  HookTriggers triggers;
  std::shared_ptr<HookCallback> callback;
  std::shared_ptr<long long> instructions;  // accumulated count events, for every_nth
};
using HookUsers = std::vector<HookUser>;

struct ThreadHooks {
  std::shared_ptr<const HookUsers> users;
  int pin = LUA_NOREF;  // keeps a coroutine with hooks of its own from being collected
};

struct HookTable {
  std::unordered_map<lua_State*, ThreadHooks> threads;
  HookId next_id = kUserHook + 1;
};

namespace {

constexpr int kHookContinue = 0;
constexpr int kHookError = 1;
constexpr int kHookYield = 2;

HookTable& table_of(StateCore& core) {
  if (!core.hooks) core.hooks = std::make_shared<HookTable>();
  return *core.hooks;
}

bool fires(const HookUser& user, int event, int count_step) {
  switch (event) {
    case LUA_HOOKCALL:
    case LUA_HOOKTAILCALL: return user.triggers.on_calls;
    case LUA_HOOKRET: return user.triggers.on_returns;
    case LUA_HOOKLINE: return user.triggers.every_line;
    case LUA_HOOKCOUNT:
      if (user.triggers.every_nth_instruction <= 0) return false;
      *user.instructions += count_step;
      if (*user.instructions < user.triggers.every_nth_instruction) return false;
      *user.instructions -= user.triggers.every_nth_instruction;
      return true;
    default: return false;
  }
}

HookEventKind kind_of(int event) {
  switch (event) {
    case LUA_HOOKCALL: return HookEventKind::Call;
    case LUA_HOOKTAILCALL: return HookEventKind::TailCall;
    case LUA_HOOKRET: return HookEventKind::Return;
    case LUA_HOOKLINE: return HookEventKind::Line;
    default: return HookEventKind::Count;
  }
}

// Runs the users with every C++ object scoped here; the caller raises or yields.
int run_hook_users(lua_State* L, lua_Debug* ar) {
  StateCore* core = StateCore::of(L);
  try {
    if (!core->hooks) return kHookContinue;
    auto& threads = core->hooks->threads;
    auto it = threads.find(L);
    if (it == threads.end()) it = threads.find(core->main());
    if (it == threads.end() || !it->second.users) return kHookContinue;
    const std::shared_ptr<const HookUsers> users = it->second.users;  // snapshot: users may change hooks
    lua_getinfo(L, "nSl", ar);
    const HookEvent event{kind_of(ar->event), L, ar->currentline, ar->short_src, ar->name, ar->what};
    internal::CurrentThreadScope current(core, L);
    StateHandle handle(core->shared_from_this());
    const int count_step = lua_gethookcount(L);
    bool yield = false;
    for (const HookUser& user : *users) {
      if (!fires(user, ar->event, count_step)) continue;
      HookAction action = (*user.callback)(handle, event);
      if (action.kind() == HookAction::Kind::Error) {
        core->hook_message = action.message();
        return kHookError;
      }
      if (action.kind() == HookAction::Kind::Yield) yield = true;
    }
    // Lua lets only count and line hooks yield, and only inside a coroutine.
    if (yield && (ar->event == LUA_HOOKCOUNT || ar->event == LUA_HOOKLINE) && lua_isyieldable(L)) return kHookYield;
    return kHookContinue;
  }
  CXXLUA_LET_LUA_ERRORS_PASS
  catch (const std::exception& error) {
    try {
      core->hook_message = std::string("hook failed: ") + error.what();
    } catch (...) {
    }
    return kHookError;
  }
  catch (...) {
    core->hook_message = "hook failed: unknown C++ exception";
    return kHookError;
  }
}

void dispatch(lua_State* L, lua_Debug* ar) {
  const int outcome = run_hook_users(L, ar);
  if (outcome == kHookError) {
    const std::string& message = StateCore::of(L)->hook_message;
    lua_pushlstring(L, message.data(), message.size());
    lua_error(L);
  } else if (outcome == kHookYield) {
    lua_yield(L, 0);
  }
}

void install(lua_State* thread, const HookUsers* users) {
  int mask = 0;
  int count = 0;
  if (users != nullptr) {
    for (const HookUser& user : *users) {
      if (user.triggers.on_calls) mask |= LUA_MASKCALL;
      if (user.triggers.on_returns) mask |= LUA_MASKRET;
      if (user.triggers.every_line) mask |= LUA_MASKLINE;
      if (user.triggers.every_nth_instruction > 0) {
        mask |= LUA_MASKCOUNT;
        count = std::gcd(count, user.triggers.every_nth_instruction);
      }
    }
  }
  lua_sethook(thread, mask != 0 ? &dispatch : nullptr, mask, count);
}

// Replaces user `id` on `thread` (or removes it when callback is empty); returns the id.
HookId update(StateCore& core, lua_State* thread, HookId id, const HookTriggers& triggers, HookCallback callback,
              int pin) {
  HookTable& table = table_of(core);
  ThreadHooks& entry = table.threads[thread];
  auto users = std::make_shared<HookUsers>();
  if (entry.users) {
    for (const HookUser& user : *entry.users) {
      if (user.id != id) users->push_back(user);
    }
  }
  if (callback) {
    users->push_back(
        HookUser{id, triggers, std::make_shared<HookCallback>(std::move(callback)), std::make_shared<long long>(0)});
  }
  if (pin != LUA_NOREF && entry.pin == LUA_NOREF) {
    entry.pin = pin;
  } else if (pin != LUA_NOREF) {
    core.release_reference(pin);
  }
  install(thread, users->empty() ? nullptr : users.get());
  if (users->empty() && thread != core.main()) {
    const int old_pin = entry.pin;
    table.threads.erase(thread);
    core.release_reference(old_pin);
  } else {
    entry.users = std::move(users);
  }
  return id;
}

}  // namespace

void StateHandle::set_hook(const HookTriggers& triggers, HookCallback callback) const {
  Entry entry(*core_, "StateHandle::set_hook");
  update(*core_, core_->main(), kUserHook, triggers, std::move(callback), LUA_NOREF);
}

void StateHandle::remove_hook() const { remove_hook(kUserHook); }

HookId StateHandle::add_hook(const HookTriggers& triggers, HookCallback callback) const {
  Entry entry(*core_, "StateHandle::add_hook");
  const HookId id = table_of(*core_).next_id++;
  return update(*core_, core_->main(), id, triggers, std::move(callback), LUA_NOREF);
}

void StateHandle::remove_hook(HookId id) const {
  Entry entry(*core_, "StateHandle::remove_hook");
  update(*core_, core_->main(), id, HookTriggers{}, HookCallback(), LUA_NOREF);
}

void Thread::set_hook(const HookTriggers& triggers, HookCallback callback) const {
  Entry entry(core_ref(), "Thread::set_hook");
  lua_State* thread = raw_thread();
  // A reference of its own, owned by the hook table, for a coroutine; the main thread
  // lives as long as the state (a pin for it was never released: found by the op VM's
  // thread_hook op on a handle from coroutine.running()).
  int pin_ref = LUA_NOREF;
  if (thread != core_->main()) {
    Thread pin = *this;
    pin_ref = std::exchange(pin.ref_, LUA_NOREF);
  }
  update(*core_, thread, kUserHook, triggers, std::move(callback), pin_ref);
}

void Thread::remove_hook() const {
  Entry entry(core_ref(), "Thread::remove_hook");
  update(*core_, raw_thread(), kUserHook, HookTriggers{}, HookCallback(), LUA_NOREF);
}

}  // namespace cxxlua
