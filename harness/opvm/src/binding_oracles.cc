#include <luahammer/opvm/binding_oracles.hpp>
#include <cxxlua/testing.hpp>

#include <cstring>

namespace luahammer {

void check_stack_at_rest(const cxxlua::StateHandle& state, const char* after) {
  if (state.is_closed()) return;
  // Under the lock: another thread may be using a shared state.
  const int top =
      cxxlua::testing::inspect(state, [&state](lua_State*) { return lua_gettop(cxxlua::testing::main_thread(state)); });
  if (top != 0) {
    violation("stack", std::to_string(top) + " value(s) left on the main thread after " + after);
  }
}

void check_coroutine(const cxxlua::Thread& thread, const char* after) {
  if (!thread.state_alive()) return;
  lua_State* co = thread.raw_thread();
  struct Found {
    bool finished_holds = false;  // a finished coroutine holding values
    bool frame_lost = false;      // a coroutine a hook suspended, its frame cut off
    int top = 0;
    int locals = 0;  // the named locals active where a hook suspended it
  };
  // Read under the state's lock: another worker's collection may move this stack.
  const Found found = cxxlua::testing::inspect(cxxlua::testing::state_of(thread), [co](lua_State*) {
    Found f;
    lua_Debug ar;
    f.top = lua_gettop(co);
    if (lua_status(co) == LUA_YIELD) {
      // A hook yields from inside the Lua function it interrupted, whose live values are
      // that frame's stack: after the resume returns they must all still be below the top
      // (mlua #723: a binding that pops or resets the top there lets the collector clear
      // live locals). Lua sets the top to the frame's end (every function has at least two
      // registers) before a hook, except before an instruction that takes its operands up
      // to a top a multiple-result call or `...` left (a call, a return, a list store):
      // that top stays, as low as the frame's base for `return ...` with no values. Those
      // operands lie above the function's active locals, so below two the check is that
      // every named local active there is still below the top. (With the top below two,
      // below the frame's end: lua_getlocal's push has room.)
      if (f.top < 2 && lua_getstack(co, 0, &ar) != 0 && lua_getinfo(co, "S", &ar) != 0 &&
          (std::strcmp(ar.what, "Lua") == 0 || std::strcmp(ar.what, "main") == 0)) {
        while (const char* name = lua_getlocal(co, &ar, f.locals + 1)) {
          lua_pop(co, 1);
          if (std::strcmp(name, "(temporary)") == 0) break;
          ++f.locals;
        }
        f.frame_lost = f.top < f.locals;
      }
      return f;
    }
    if (lua_status(co) != LUA_OK || lua_getstack(co, 0, &ar) != 0) return f;  // running
    // At rest a coroutine holds nothing (finished) or exactly its body (not started).
    f.finished_holds = !(f.top == 0 || (f.top == 1 && lua_type(co, 1) == LUA_TFUNCTION));
    return f;
  });
  if (found.finished_holds) {
    violation("stack", "finished coroutine holds " + std::to_string(found.top) + " value(s) after " + after);
  }
  if (found.frame_lost) {
    violation("stack", "coroutine suspended by a hook's yield kept " + std::to_string(found.top) + " of its " +
                           std::to_string(found.locals) + " active locals after " + after + " (live locals lost)");
  }
}

void ReferenceLedger::on_take(int ref) noexcept { slots_.take(ref); }

void ReferenceLedger::on_release(int ref) noexcept { slots_.release(ref); }

void check_finalizers_called_by_lua(const cxxlua::StateHandle& state, const char* after) {
  const std::size_t skipped = cxxlua::testing::finalizers_skipped_by_lua(state);
  const std::size_t failed = cxxlua::testing::finalizer_call_failures(state);
  if (skipped > failed) {
    violation("finalizers", std::to_string(skipped - failed) +
                                " object(s) freed by Lua without a call of their finalizer (never registered?) after " +
                                after);
  }
}

void check_memory_accounting(const cxxlua::StateHandle& state, const FaultAllocator& allocator, const char* after) {
  if (state.is_closed()) return;
  if (state.used_memory() != allocator.live_bytes()) {
    violation("memory", "the binding counts " + std::to_string(state.used_memory()) + " byte(s) of Lua memory, " +
                            "its allocator holds " + std::to_string(allocator.live_bytes()) + " after " + after);
  }
}

}  // namespace luahammer
