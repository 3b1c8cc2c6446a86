// Hooks. The binding keeps one Lua hook per thread and dispatches to its users, so an
// instruction budget and a user hook coexist. A user gets the event with its debug info
// and answers continue, yield (count and line events inside a coroutine) or error. An
// error unwinds to the caller as a clean Error wherever the hook fires, including inside
// the binding's own protected calls. Hooks may be added, replaced and removed from inside
// a hook. The global hooks live on the main thread, and Lua copies a thread's hook into
// every coroutine it creates; Thread::set_hook gives one coroutine hooks of its own.
#pragma once

#include <functional>
#include <string>

#include <luahammer/lua.hpp>

namespace cxxlua {

class StateHandle;

enum class HookEventKind { Call, TailCall, Return, Line, Count };

// Named, never positional: HookTriggers{.on_calls = true, .every_nth_instruction = 1000}.
struct HookTriggers {
  bool on_calls = false;
  bool on_returns = false;
  bool every_line = false;
  int every_nth_instruction = 0;  // 0 = off
};

struct HookEvent {
  HookEventKind kind;
  lua_State* thread;   // the thread running when the hook fired
  int current_line;    // -1 when not known
  const char* source;  // short source ("[C]" for C functions)
  const char* name;    // function name if known, else null
  const char* what;    // "Lua", "C", "main"
};

class HookAction {
 public:
  enum class Kind { Continue, Yield, Error };
  static HookAction resume() { return HookAction(Kind::Continue, {}); }
  static HookAction yield() { return HookAction(Kind::Yield, {}); }
  static HookAction error(std::string message) { return HookAction(Kind::Error, std::move(message)); }
  Kind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }

 private:
  HookAction(Kind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  Kind kind_;
  std::string message_;
};

using HookCallback = std::function<HookAction(StateHandle&, const HookEvent&)>;
using HookId = int;
inline constexpr HookId kUserHook = 1;  // the slot set_hook() replaces

}  // namespace cxxlua
