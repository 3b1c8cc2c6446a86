// Claim: a hook error unwinds as a clean Error wherever it fires, including inside the
// binding's own protected calls (type registration, table stores, argument conversion),
// and every stack guard on the way stays exact (mlua #477). Hooks coexist (an
// instruction budget and a user hook), can be replaced and removed from inside a hook,
// apply per coroutine or to every new coroutine, and can yield a coroutine without
// losing its live registers (mlua #723).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <stdexcept>

#include "test_support.hpp"

namespace cxxlua {
namespace {

using testing::Tracked;

void DescribeTracked(UserDataBuilder<Tracked>& t) {
  t.method("get", [](const Tracked& self) { return self.value; });
  t.meta("__tostring", [](const Tracked& self) { return std::to_string(self.value); });
}

// Runs `operation` on a fresh state with a call + return + every-instruction hook that
// raises on its Nth event, for N = 1, 2, … until the operation completes without the
// hook firing: every run must end in success or a clean Error, with the stack at rest,
// the reference ledger back to its baseline and every C++ object destroyed once.
int SweepHookErrors(const std::function<void(State&)>& setup, const std::function<void(State&)>& operation) {
  int errors = 0;
  for (long long n = 1;; ++n) {
    Tracked::reset();
    bool completed = false;
    long long events = 0;
    {
      State state;
      setup(state);
      const long long baseline = state.live_references();
      state.set_hook(HookTriggers{.on_calls = true, .on_returns = true, .every_nth_instruction = 1},
                     [&](StateHandle&, const HookEvent&) {
                       return ++events == n ? HookAction::error("cancelled by hook") : HookAction::resume();
                     });
      try {
        operation(state);
        completed = true;
      } catch (const Error& e) {
        ++errors;
        EXPECT_NE(std::string(e.what()).find("cancelled by hook"), std::string::npos) << e.what();
      }
      state.remove_hook();
      EXPECT_EQ(lua_gettop(testing::main_thread(state)), 0) << "at event " << n;
      state.globals().set("kept", nullptr);
      state.collect_garbage();
      (void)state.create_table();  // an entry: releases deferred references
      EXPECT_EQ(state.live_references(), baseline) << "reference leaked at event " << n;
    }
    EXPECT_EQ(Tracked::live, 0) << "at event " << n;
    EXPECT_EQ(Tracked::constructed, Tracked::destroyed) << "at event " << n;
    if (completed && events < n) {
      std::printf("swept %lld hook events: %d ended in a clean error\n", n, errors);
      break;
    }
    if (n > 5000) {
      ADD_FAILURE() << "sweep did not end";
      break;
    }
  }
  return errors;
}

TEST(Hooks, Mlua477HookErrorDuringMetatableCreation) {
  const int errors = SweepHookErrors([](State&) {},
                                     [](State& state) {
                                       state.register_type<Tracked>("Tracked", &DescribeTracked);
                                       state.globals().set("kept", state.create_userdata<Tracked>(1));
                                     });
  EXPECT_GT(errors, 3);
}

TEST(Hooks, Mlua477HookErrorWhileStoringAUserdataIntoATable) {
  const int errors = SweepHookErrors(
      [](State& state) {
        state.register_type<Tracked>("Tracked", &DescribeTracked);
        state.globals().set("make", state.create_function([](StateHandle s) { return s.create_userdata<Tracked>(2); }));
      },
      [](State& state) {
        Table t = state.create_table();
        t.set("direct", state.create_userdata<Tracked>(3));
        state.exec("kept = {} kept.ud = make() kept[1] = make()");
      });
  EXPECT_GT(errors, 3);
}

TEST(Hooks, Mlua477HookErrorDuringHostFunctionConversions) {
  const int errors = SweepHookErrors(
      [](State& state) {
        state.globals().set("convert",
                            state.create_function([](int a, std::string b, Table c, std::optional<double> d) {
                              return std::make_tuple(a, b + "!", c, d.value_or(0.5));
                            }));
      },
      [](State& state) {
        MultiValue r = state.exec("return convert(1, 'two', {3}, 4.0)");
        EXPECT_EQ(from_value<std::string>(r[1]), "two!");
        Function f = state.globals().get<Function>("convert");
        (void)f.call(5, "six", state.create_table());
      });
  EXPECT_GT(errors, 3);
}

TEST(Hooks, BudgetAndUserHookCoexist) {
  State state;
  long long lines = 0;
  state.set_hook(HookTriggers{.every_line = true}, [&](StateHandle&, const HookEvent& e) {
    EXPECT_EQ(e.kind, HookEventKind::Line);
    ++lines;
    return HookAction::resume();
  });
  long long budget_checks = 0;
  state.add_hook(HookTriggers{.every_nth_instruction = 1000}, [&](StateHandle&, const HookEvent&) {
    return ++budget_checks >= 10 ? HookAction::error("instruction budget exhausted") : HookAction::resume();
  });
  try {
    state.exec("while true do end");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("instruction budget exhausted"), std::string::npos);
  }
  EXPECT_EQ(budget_checks, 10);
  EXPECT_GT(lines, 0);
}

// An exception escaping a hook, of a standard type or not, becomes a clean Lua error with
// the hook named in its message; the state stays usable.
TEST(Hooks, ExceptionsEscapingAHookBecomeCleanErrors) {
  State state;
  for (int kind = 0; kind < 2; ++kind) {
    state.set_hook(HookTriggers{.on_calls = true}, [kind](StateHandle&, const HookEvent&) -> HookAction {
      if (kind == 0) throw std::runtime_error("out of patience");
      throw 7;
    });
    try {
      state.exec("local function f() end f()");
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(e.message().find(kind == 0 ? "hook failed: out of patience" : "hook failed: unknown C++ exception"),
                std::string::npos)
          << e.message();
    }
    state.remove_hook();
    EXPECT_EQ(state.load("return 2").call_as<int>(), 2);
  }
}

TEST(Hooks, ReplacedAndRemovedFromInsideAHook) {
  State state;
  int first = 0;
  int second = 0;
  state.set_hook(HookTriggers{.on_calls = true}, [&](StateHandle& s, const HookEvent&) {
    ++first;
    s.set_hook(HookTriggers{.on_calls = true}, [&](StateHandle& inner, const HookEvent&) {
      if (++second == 3) inner.remove_hook();
      return HookAction::resume();
    });
    return HookAction::resume();
  });
  state.exec("local function f() end for i = 1, 10 do f() end");
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 3);
}

TEST(Hooks, EventsCarryDebugInfo) {
  State state;
  std::vector<int> lines;
  state.set_hook(HookTriggers{.every_line = true}, [&](StateHandle&, const HookEvent& e) {
    lines.push_back(e.current_line);
    EXPECT_STREQ(e.source, "script");
    return HookAction::resume();
  });
  state.exec("local a = 1\nlocal b = 2\nreturn a + b", "=script");
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 3}));
}

TEST(Hooks, GlobalHookAppliesToNewCoroutinesPerCoroutineHooksToOneOnly) {
  State state;
  int global_calls = 0;
  state.set_hook(HookTriggers{.on_calls = true}, [&](StateHandle&, const HookEvent&) {
    ++global_calls;
    return HookAction::resume();
  });
  Thread co = state.create_thread(state.load("local function f() end f() f()"));
  (void)co.resume();
  EXPECT_GE(global_calls, 2);
  state.remove_hook();
  global_calls = 0;
  int own = 0;
  Thread a = state.create_thread(state.load("local function f() end f() f()"));
  Thread b = state.create_thread(state.load("local function f() end f() f()"));
  a.set_hook(HookTriggers{.on_calls = true}, [&](StateHandle&, const HookEvent&) {
    ++own;
    return HookAction::resume();
  });
  (void)a.resume();
  const int after_a = own;
  (void)b.resume();
  EXPECT_GE(after_a, 2);
  EXPECT_EQ(own, after_a);
  EXPECT_EQ(global_calls, 0);
  a.remove_hook();
}

// mlua #723: after a count hook yields, the suspended function's registers must survive
// a full collection and the resume.
TEST(Hooks, CountHookYieldKeepsLocalsThroughFullGc) {
  State state;
  Thread co = state.create_thread(state.load(R"(
    local parts = {}
    local text = string.rep("a", 10) .. "b"
    for i = 1, 200 do
      parts[#parts + 1] = text .. i
    end
    return #parts, parts[200], text
  )"));
  co.set_hook(HookTriggers{.every_nth_instruction = 7},
              [](StateHandle&, const HookEvent&) { return HookAction::yield(); });
  int yields = 0;
  MultiValue results;
  while (co.status() == ThreadStatus::Resumable) {
    results = co.resume();
    state.collect_garbage();
    ++yields;
  }
  co.remove_hook();
  EXPECT_GT(yields, 100);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(from_value<int>(results[0]), 200);
  EXPECT_EQ(from_value<std::string>(results[1]), "aaaaaaaaaab200");
  EXPECT_EQ(from_value<std::string>(results[2]), "aaaaaaaaaab");
}

// A coroutine's own hook holds it (the hook table's key must not be reused) until the hook
// is removed; the main thread is never collected, so a hook set through a handle of it
// must hold nothing.
TEST(Hooks, ThreadHookHoldsItsCoroutineUntilRemovedAndTheMainThreadNever) {
  State state;
  const long long baseline = state.live_references();
  {
    Thread co = state.create_thread(state.load("coroutine.yield() return 1"));
    co.set_hook(HookTriggers{.on_calls = true}, [](StateHandle&, const HookEvent&) { return HookAction::resume(); });
    EXPECT_EQ(state.live_references(), baseline + 2);  // the handle and the hook's own
    co.remove_hook();
    EXPECT_EQ(state.live_references(), baseline + 1);
  }
  {
    MultiValue running = state.load("return coroutine.running()").call_values({});
    Thread main = *running.at(0).get_if<Thread>();
    main.set_hook(HookTriggers{.on_calls = true}, [](StateHandle&, const HookEvent&) { return HookAction::resume(); });
    EXPECT_EQ(state.live_references(), baseline + 2);  // the two handles only
    main.remove_hook();
  }
  EXPECT_EQ(state.live_references(), baseline);
}

}  // namespace
}  // namespace cxxlua
