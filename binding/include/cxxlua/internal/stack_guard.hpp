// Internal (not API): may change in any release.
// StackGuard: every public entry point records the Lua stack top it must leave behind.
// Checking policy: on scope exit compare with the expected top (entry + delta) and report
// the exact imbalance through the installed handler. Restoring policy: reset the top.
#pragma once

#include <luahammer/lua.hpp>

namespace cxxlua {

// Called with a one-line description such as
// "stack imbalance in Table::set: 1 value too many popped". The default handler prints
// it and aborts: an imbalance is a binding bug, never a user error.
using StackImbalanceHandler = void (*)(const char* report);
StackImbalanceHandler set_stack_imbalance_handler(StackImbalanceHandler handler) noexcept;
void report_stack_imbalance(const char* where, int expected_top, int actual_top) noexcept;

namespace internal {

enum class StackPolicy { Checking, Restoring };

class StackGuard {
 public:
  StackGuard(lua_State* L, const char* where, StackPolicy policy = StackPolicy::Checking, int delta = 0) noexcept
      : L_(L), where_(where), policy_(policy), expected_(lua_gettop(L) + delta) {}
  StackGuard(const StackGuard&) = delete;
  StackGuard& operator=(const StackGuard&) = delete;
  ~StackGuard() {
    if (L_ == nullptr) return;
    const int top = lua_gettop(L_);
    if (top == expected_) return;
    if (policy_ == StackPolicy::Restoring && top > expected_) {
      lua_settop(L_, expected_);
    } else {
      report_stack_imbalance(where_, expected_, top);
    }
  }
  // The state went away inside the guarded scope (closed by the call itself).
  void dismiss() noexcept { L_ = nullptr; }
  int expected_top() const noexcept { return expected_; }

 private:
  lua_State* L_;
  const char* where_;
  StackPolicy policy_;
  int expected_;
};

}  // namespace internal
}  // namespace cxxlua
