// The generic module fuzzer against small modules written here: it discovers their API
// (nested tables, methods of returned userdata), and each oracle fires on a module that
// breaks it: Lua's API checks on stack misuse, the memory oracle on a block never freed.
#include <luahammer/module/module_fuzz.hpp>
#include <luahammer/core/random_bytes.hpp>

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

// ThreadSanitizer adds nothing to these single-threaded runs and makes them several
// times slower: under it, the long ones run a fifth of their inputs or are skipped.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif
#else
constexpr bool kUnderTsan = false;
#endif

int calls_to_poke = 0;

int f_ok(lua_State* L) {
  lua_pushinteger(L, lua_gettop(L));
  return 1;
}
int f_poke(lua_State* L) {
  luaL_checkudata(L, 1, "fake.thing");
  ++calls_to_poke;
  return 0;
}
int f_make(lua_State* L) {
  lua_newuserdatauv(L, 16, 0);
  if (luaL_newmetatable(L, "fake.thing")) {
    lua_newtable(L);
    lua_pushcfunction(L, f_poke);
    lua_setfield(L, -2, "poke");
    lua_setfield(L, -2, "__index");
  }
  lua_setmetatable(L, -2);
  return 1;
}
int f_overpush(lua_State* L) {  // pushes past LUA_MINSTACK without lua_checkstack
  for (int i = 0; i < 200; ++i) lua_pushinteger(L, i);
  return 0;
}
int f_overreturn(lua_State* L) {  // claims five results, pushed one
  lua_settop(L, 0);
  lua_pushnil(L);
  return 5;
}
int f_leak(lua_State* L) {  // takes a block from the state's allocator and never returns it
  void* ud = nullptr;
  lua_Alloc alloc = lua_getallocf(L, &ud);
  static_cast<void>(alloc(ud, nullptr, 0, 64));
  return 0;
}

int open_with(lua_State* L, const std::vector<luaL_Reg>& functions, bool nested) {
  lua_newtable(L);
  for (const auto& f : functions) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, -2, f.name);
  }
  if (nested) {
    lua_newtable(L);
    lua_pushcfunction(L, f_ok);
    lua_setfield(L, -2, "deeper");
    lua_setfield(L, -2, "nested");
  }
  return 1;
}
int f_long_error(lua_State* L) {                // an argument-error look-alike quoting a megabyte
  static const std::string name(1 << 20, 'a');  // static: a local would be skipped by the longjmp
  lua_pushfstring(L, "bad argument #1 to '%s", name.c_str());
  return lua_error(L);
}
extern "C" int open_clean(lua_State* L) { return open_with(L, {{"ok", f_ok}, {"make", f_make}}, true); }
extern "C" int open_overpush(lua_State* L) { return open_with(L, {{"overpush", f_overpush}}, false); }
extern "C" int open_overreturn(lua_State* L) { return open_with(L, {{"overreturn", f_overreturn}}, false); }
extern "C" int open_leak(lua_State* L) { return open_with(L, {{"leak", f_leak}}, false); }
extern "C" int open_long_error(lua_State* L) { return open_with(L, {{"long_error", f_long_error}}, false); }

// A class bound the way C++ binding libraries (sol2, LuaBridge) lay it out: the class
// table constructs through __call; the objects' metatable, registered as
// "fixture.Account", answers through an __index *function* from a methods table kept in
// the registry, and properties through a __newindex function and a setters table.
// Nothing in the module table names the methods: discovery must find the metatable in
// the registry and probe its __index. An Account holds a Lua function (on_change, a
// registry reference) that notify() calls later. Each planted bug is off unless its
// flag is set.
struct Account {
  double balance;
  int* notes;    // 8 slots
  int callback;  // a registry reference, or LUA_NOREF
  bool finalized;
};
int deposits = 0;
int finalized_again = 0;  // __gc on an Account already finalized: the fuzzer's dead-object self
int notified = 0;
int callbacks_set = 0;
int tiny_finalized = 0;
bool planted_bug = false;                      // note(): a negative slot is not refused
bool planted_confusion = false;                // peek(): self's class never checked
bool planted_double_unref = false;             // forget(): the reference released, not cleared; __gc releases it again
bool planted_ref_leak = false;                 // __gc: the stored function is never released
bool planted_heap_leak = false;                // balance = x: each value kept in a global history, never trimmed
bool planted_skipped_gc = false;               // Tiny: __gc put in the metatable after the first object got it
std::vector<std::unique_ptr<double>> history;  // planted_heap_leak: reachable, so LeakSanitizer is silent
// Not a bug: balance = x keeps the last 16 values in a ring, as OpenSSL keeps its last 16
// errors per thread: heap that grows for 16 runs, then stays.
bool bounded_cache = false;
std::vector<std::unique_ptr<double>> ring;
std::size_t ring_next = 0;

Account* check_account(lua_State* L) { return static_cast<Account*>(luaL_checkudata(L, 1, "fixture.Account")); }
int account_deposit(lua_State* L) {
  check_account(L)->balance += luaL_checknumber(L, 2);
  ++deposits;
  return 0;
}
int account_note(lua_State* L) {
  Account* a = check_account(L);
  const lua_Integer slot = luaL_checkinteger(L, 2);
  luaL_argcheck(L, slot < 8 && (planted_bug || slot >= 0), 2, "slot out of range");
  if (a->notes == nullptr) return luaL_error(L, "the account was destroyed");  // __gc called by hand
  a->notes[slot] = 1;
  return 0;
}
int account_peek(lua_State* L) {
  const auto* a = static_cast<const Account*>(planted_confusion ? lua_touserdata(L, 1) : check_account(L));
  if (a == nullptr) return luaL_error(L, "no account");
  lua_pushnumber(L, a->balance);
  return 1;
}
int account_notify(lua_State* L) {  // calls the stored function with the balance
  Account* a = check_account(L);
  if (a->callback == LUA_NOREF) return 0;
  ++notified;
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->callback);
  lua_pushnumber(L, a->balance);
  lua_call(L, 1, 0);
  return 0;
}
int account_forget(lua_State* L) {  // drops the stored function
  Account* a = check_account(L);
  luaL_unref(L, LUA_REGISTRYINDEX, a->callback);
  if (!planted_double_unref) a->callback = LUA_NOREF;
  return 0;
}
int tiny_gc(lua_State*) {
  ++tiny_finalized;
  return 0;
}
int tiny_new(lua_State* L) {  // another class: a one-byte object
  lua_newuserdatauv(L, 1, 0);
  luaL_setmetatable(L, "fixture.Tiny");
  if (planted_skipped_gc && lua_getmetatable(L, -1)) {  // the finalizer, set up on first use: too late for this one
    if (lua_getfield(L, -1, "__gc") == LUA_TNIL) {
      lua_pushcfunction(L, tiny_gc);
      lua_setfield(L, -3, "__gc");
    }
    lua_pop(L, 2);
  }
  return 1;
}
int account_gc(lua_State* L) {
  Account* a = check_account(L);
  if (a->finalized) ++finalized_again;
  a->finalized = true;
  std::free(a->notes);
  a->notes = nullptr;
  if (!planted_ref_leak) luaL_unref(L, LUA_REGISTRYINDEX, a->callback);
  a->callback = LUA_NOREF;
  return 0;
}
int account_index(lua_State* L) {
  check_account(L);
  const char* key = luaL_checkstring(L, 2);
  if (std::strcmp(key, "balance") == 0) {
    lua_pushnumber(L, check_account(L)->balance);
    return 1;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "fixture.Account.methods");
  lua_getfield(L, -1, key);
  return 1;
}
int set_balance(lua_State* L) {
  Account* a = check_account(L);
  a->balance = luaL_checknumber(L, 3);
  if (planted_heap_leak) history.push_back(std::make_unique<double>(a->balance));
  if (bounded_cache) {
    if (ring.size() < 16)
      ring.push_back(std::make_unique<double>(a->balance));
    else
      ring[ring_next++ % 16] = std::make_unique<double>(a->balance);
  }
  return 0;
}
int set_on_change(lua_State* L) {
  Account* a = check_account(L);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, a->callback);
  ++callbacks_set;
  lua_pushvalue(L, 3);
  a->callback = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}
int account_newindex(lua_State* L) {  // the setter of the property named by argument 2
  check_account(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "fixture.Account.setters");
  if (lua_getfield(L, -1, luaL_checkstring(L, 2)) != LUA_TFUNCTION)
    return luaL_error(L, "no property %s", lua_tostring(L, 2));
  lua_pop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, "fixture.Account.setters");
  lua_getfield(L, -1, lua_tostring(L, 2));
  return reinterpret_cast<lua_CFunction>(lua_tocfunction(L, -1))(L);
}
int account_new(lua_State* L) {  // Account(...): argument 1 is the class table
  auto* a = static_cast<Account*>(lua_newuserdatauv(L, sizeof(Account), 0));
  a->balance = 0;
  a->notes = nullptr;
  a->callback = LUA_NOREF;
  a->finalized = false;
  luaL_setmetatable(L, "fixture.Account");
  a->notes = static_cast<int*>(std::calloc(8, sizeof(int)));
  if (a->notes == nullptr) return luaL_error(L, "out of memory");
  return 1;
}
extern "C" int open_binding(lua_State* L) {
  const luaL_Reg meta[] = {
      {"__index", account_index}, {"__newindex", account_newindex}, {"__gc", account_gc}, {nullptr, nullptr}};
  luaL_newmetatable(L, "fixture.Account");
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, "fixture.Tiny");
  if (!planted_skipped_gc) {
    lua_pushcfunction(L, tiny_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg methods[] = {{"deposit", account_deposit}, {"note", account_note},     {"peek", account_peek},
                              {"notify", account_notify},   {"forget", account_forget}, {nullptr, nullptr}};
  luaL_newlib(L, methods);
  lua_setfield(L, LUA_REGISTRYINDEX, "fixture.Account.methods");
  const luaL_Reg setters[] = {{"balance", set_balance}, {"on_change", set_on_change}, {nullptr, nullptr}};
  luaL_newlib(L, setters);
  lua_setfield(L, LUA_REGISTRYINDEX, "fixture.Account.setters");
  lua_newtable(L);  // the module
  lua_newtable(L);  // the class table
  lua_newtable(L);
  lua_pushcfunction(L, account_new);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "Account");
  lua_pushcfunction(L, tiny_new);
  lua_setfield(L, -2, "tiny");
  return 1;
}

// One C++ type under two metatables, as sol2 registers it ("fam.Thing" for values,
// "fam.const Thing" for const references): the const one's method accepts either, and
// nothing ever returns a const Thing. Its self must come from the value class's objects.
int looks = 0;
int look_calls = 0;
int thing_new(lua_State* L) {
  lua_newuserdatauv(L, 8, 0);
  luaL_setmetatable(L, "fam.Thing");
  return 1;
}
int thing_look(lua_State* L) {
  ++look_calls;
  if (luaL_testudata(L, 1, "fam.Thing") == nullptr && luaL_testudata(L, 1, "fam.const Thing") == nullptr)
    return luaL_argerror(L, 1, "not a Thing");
  ++looks;
  return 0;
}
extern "C" int open_family(lua_State* L) {
  luaL_newmetatable(L, "fam.Thing");
  lua_pop(L, 1);
  luaL_newmetatable(L, "fam.const Thing");
  lua_newtable(L);
  lua_pushcfunction(L, thing_look);
  lua_setfield(L, -2, "look");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, thing_new);
  lua_setfield(L, -2, "new");
  return 1;
}

// sol2's layout in small: a class's "new" sits in its metatable beside the methods (a
// static: with an object first it fails), and a second metatable of the same type
// ("st.const Box") has its own copy of the methods but no object of its own, so nothing is
// learned for them there.
int box_make(lua_State* L) {  // st.make(): a Box of size 1
  *static_cast<lua_Integer*>(lua_newuserdatauv(L, sizeof(lua_Integer), 0)) = 1;
  luaL_setmetatable(L, "st.Box");
  return 1;
}
int box_new(lua_State* L) {  // Box.new(size)
  const lua_Integer size = luaL_checkinteger(L, 1);
  *static_cast<lua_Integer*>(lua_newuserdatauv(L, sizeof(lua_Integer), 0)) = size;
  luaL_setmetatable(L, "st.Box");
  return 1;
}
int box_weigh(lua_State* L) {  // box:weigh(scale)
  luaL_checkudata(L, 1, "st.Box");
  luaL_checkinteger(L, 2);
  return 0;
}
int const_weigh_calls = 0;
int const_weighs = 0;  // calls of the const metatable's weigh past both checks
int const_box_weigh(lua_State* L) {
  ++const_weigh_calls;
  if (luaL_testudata(L, 1, "st.Box") == nullptr && luaL_testudata(L, 1, "st.const Box") == nullptr)
    return luaL_argerror(L, 1, "not a Box");
  luaL_checkinteger(L, 2);
  ++const_weighs;
  return 0;
}
extern "C" int open_statics(lua_State* L) {
  const luaL_Reg box[] = {{"new", box_new}, {"weigh", box_weigh}, {nullptr, nullptr}};
  const luaL_Reg const_box[] = {{"new", box_new}, {"weigh", const_box_weigh}, {nullptr, nullptr}};
  luaL_newmetatable(L, "st.Box");
  luaL_newlib(L, box);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, "st.const Box");
  luaL_newlib(L, const_box);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, box_make);
  lua_setfield(L, -2, "make");
  return 1;
}

// A stream kept out of Lua code's reach, as lua-zlib keeps its deflate streams: open()
// returns a function holding the stream userdata as an upvalue; the stream's metatable
// ("hidden.stream", with a __gc and a method that take their argument unchecked) is only
// in the registry. Plain Lua can never pass that __gc or method anything but a stream.
int hidden_unchecked_calls = 0;  // a stream method called with something not a stream
int hidden_writes = 0;
int hidden_unchecked(lua_State* L) {
  if (luaL_testudata(L, 1, "hidden.stream") == nullptr) ++hidden_unchecked_calls;
  return 0;
}
int hidden_write(lua_State* L) {
  luaL_checkudata(L, lua_upvalueindex(1), "hidden.stream");
  ++hidden_writes;
  lua_pushinteger(L, static_cast<lua_Integer>(luaL_optinteger(L, 1, 0)));
  return 1;
}
int hidden_open(lua_State* L) {
  lua_newuserdatauv(L, 8, 0);
  luaL_setmetatable(L, "hidden.stream");
  lua_pushcclosure(L, hidden_write, 1);
  return 1;
}
extern "C" int open_hidden(lua_State* L) {
  const luaL_Reg methods[] = {{"reset", hidden_unchecked}, {nullptr, nullptr}};
  luaL_newmetatable(L, "hidden.stream");
  lua_pushcfunction(L, hidden_unchecked);
  lua_setfield(L, -2, "__gc");
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  const luaL_Reg functions[] = {{"open", hidden_open}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

// Deterministic inputs: enough of them reach every callable.
// LUAHAMMER_TEST_PROGRESS=1 prints each input's number first (executions to detection).
void run_inputs(const luahammer::ModuleSpec& module, int count) {
  std::mt19937_64 rng(7);
  const bool progress = std::getenv("LUAHAMMER_TEST_PROGRESS") != nullptr;
  for (int i = 0; i < count; ++i) {
    if (progress) std::fprintf(stderr, "input %d\n", i + 1);
    const std::vector<std::uint8_t> input = luahammer::random_bytes(rng, 64 + rng() % 512);
    luahammer::run_module_input(module, input.data(), input.size());
  }
}

TEST(ModuleFuzz, DiscoversFunctionsInNestedTables) {
  const auto names = luahammer::discover_module_api({"fake", open_clean});
  EXPECT_EQ(names, (std::vector<std::string>{"fake.make", "fake.ok", "fake.nested.deeper"}));
}

TEST(ModuleFuzz, DiscoversABindingsClassBehindCallAndItsMetatableInTheRegistry) {
  const auto names = luahammer::discover_module_api({"fixture", open_binding});
  for (const char* expected :
       {"fixture.Account", "fixture.Account:__index", "fixture.Account:__newindex", "fixture.Account:__gc"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

TEST(ModuleFuzzDeathTest, AnExcludedCallableIsNeverCalled) {
  // In a fresh child process (the list is read once per process): the class's __gc left out.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("LUAHAMMER_EXCLUDE", "fixture.Account:__gc,fixture.nothing", 1);
        const auto names = luahammer::discover_module_api({"fixture", open_binding});
        const bool listed = std::find(names.begin(), names.end(), "fixture.Account:__gc") != names.end();
        const bool kept = std::find(names.begin(), names.end(), "fixture.Account:__index") != names.end();
        std::exit(!listed && kept ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ModuleFuzzDeathTest, AnExcludedFinalizerIsNotCalledForADeadObjectSelfEither) {
  // A __gc excluded as a known bug (sol2's S1: a second __gc destroys the object again) must
  // not come back through the dead-object self, which calls the class's __gc by hand.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("LUAHAMMER_EXCLUDE", "fixture.Account:__gc", 1);
        finalized_again = 0;
        deposits = 0;
        run_inputs({"fixture", open_binding}, kUnderTsan ? 200 : 800);
        std::fprintf(stderr, "deposits %d, finalized again %d\n", deposits, finalized_again);
        std::exit(deposits > 0 && finalized_again == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// A callable that never returns (a blocking receive, a sleep for what the caller says).
int wait_forever(lua_State*) {
  for (;;) pause();
}
int check_integer(lua_State* L) {
  lua_pushinteger(L, luaL_checkinteger(L, 1));
  return 1;
}
int open_waits(lua_State* L) {
  const luaL_Reg functions[] = {{"wait", wait_forever}, {"check", check_integer}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

TEST(ModuleFuzzDeathTest, LearningGoesOnWithoutACallableThatNeverReturns) {
  // Learning forks a child that calls each callable: one that waits for good is given up
  // after LUAHAMMER_LEARN_TIMEOUT seconds, and the others are still learned.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("LUAHAMMER_LEARN_TIMEOUT", "1", 1);
        const auto shapes = luahammer::learned_argument_shapes({"waits", open_waits});
        const bool learned = std::find(shapes.begin(), shapes.end(), "waits.check(integer)") != shapes.end();
        std::exit(learned ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ModuleFuzz, LearnsArgumentShapesFromTheBindingsOwnArgumentErrors) {
  // Methods found only through the __index function, their self a constructed Account.
  const auto shapes = luahammer::learned_argument_shapes({"fixture", open_binding});
  for (const char* expected :
       {"fixture.Account:deposit(integer|float)", "fixture.Account:note(integer)",
        // properties, through its __newindex function
        "fixture.Account:__newindex.balance(integer|float)", "fixture.Account:__newindex.on_change(function)"}) {
    EXPECT_NE(std::find(shapes.begin(), shapes.end(), expected), shapes.end()) << expected << "\nlearned:\n"
                                                                               << ::testing::PrintToString(shapes);
  }
}

TEST(ModuleFuzz, AMethodOfAnotherMetatableOfTheSameTypeGetsTheTypesObjectsAsSelf) {
  looks = 0;
  look_calls = 0;
  run_inputs({"fam", open_family}, 300);
  std::printf("look: %d of %d calls with a Thing as self\n", looks, look_calls);
  EXPECT_GT(looks * 2, look_calls);  // 276 of 387; without the family, 31 of 377 (by chance)
}

TEST(ModuleFuzz, AFunctionInAMetatableThatWorksOnlyWithoutSelfIsLearnedAsAStatic) {
  const auto shapes = luahammer::learned_argument_shapes({"st", open_statics});
  EXPECT_NE(std::find(shapes.begin(), shapes.end(), "st.Box:new(integer), no self"), shapes.end())
      << ::testing::PrintToString(shapes);
  EXPECT_NE(std::find(shapes.begin(), shapes.end(), "st.Box:weigh(integer)"), shapes.end());
}

TEST(ModuleFuzz, AMethodOfAnotherMetatableOfTheSameTypeTakesTheShapeLearnedForIt) {
  // Nothing is learned for "st.const Box:weigh" (no object of that metatable); it draws the
  // shape learned for "st.Box:weigh", and its objects, as its family's.
  const_weigh_calls = 0;
  const_weighs = 0;
  run_inputs({"st", open_statics}, 300);
  std::printf("const weigh: %d of %d calls past both checks\n", const_weighs, const_weigh_calls);
  EXPECT_GT(const_weighs * 4, const_weigh_calls);
}

TEST(ModuleFuzz, DescribesTheObjectModelByClass) {
  const auto model = luahammer::describe_module_model({"fixture", open_binding});
  const std::vector<std::string> expected = {"functions: fixture.Account, fixture.tiny",
                                             "class fixture.Account",
                                             "  constructed by: fixture.Account",
                                             "  methods: deposit(integer|float), forget, note(integer), notify, peek",
                                             "  properties: balance(integer|float), on_change(function)",
                                             "  metamethods: __gc, __index, __newindex",
                                             "class fixture.Tiny",
                                             "  constructed by: fixture.tiny",
                                             "  metamethods: __gc"};
  EXPECT_EQ(model, expected) << ::testing::PrintToString(model);
}

TEST(ModuleFuzz, CallsMethodsFoundOnlyThroughAnIndexFunctionWithTheirOwnSelf) {
  // With every planted bug off, the ledgers (references, finalizers, heap growth) stay
  // quiet while the stored function is set, called, dropped and replaced, and objects of
  // both classes are finalized.
  deposits = 0;
  notified = 0;
  callbacks_set = 0;
  tiny_finalized = 0;
  finalized_again = 0;
  run_inputs({"fixture", open_binding}, kUnderTsan ? 300 : 1500);  // LSan checks at exit: nothing leaks
  EXPECT_GT(deposits, 0);
  EXPECT_GT(finalized_again, 0);  // a dead object (finalized by hand) was self, then collected
  if (!kUnderTsan) EXPECT_GT(callbacks_set, 1);
  std::printf("deposits %d, functions stored %d, called %d, tiny finalized %d\n", deposits, callbacks_set, notified,
              tiny_finalized);
  EXPECT_GT(tiny_finalized, 0);
  EXPECT_TRUE(history.empty());
}

// Switches a planted bug on, expects the report within `inputs` random inputs, and off.
void expect_found(bool& planted, int inputs, const char* report) {
  planted = true;
  EXPECT_DEATH(run_inputs({"fixture", open_binding}, inputs), report);
  planted = false;
}

// The ledgers' planted bugs, each found from random inputs (no coverage guidance) within
// an execution budget. Measured (DISABLED_ExecutionsToDetection below): double_unref 703
// inputs, ref_leak 122, skipped_gc 2, heap_leak 2 (negative_slot 107, self_confusion 258).
TEST(ModuleFuzzDeathTest, FindsAReferenceReleasedTwice) {
  if (kUnderTsan) GTEST_SKIP() << "an execution budget sized for ASan builds";
  expect_found(planted_double_unref, 3000,
               "luahammer: registry-references: luaL_unref of slot [0-9]+ of the registry, which is not taken");
}
TEST(ModuleFuzzDeathTest, FindsAFinalizerThatNeverReleasesTheFunctionItHolds) {
  if (kUnderTsan) GTEST_SKIP() << "an execution budget sized for ASan builds";
  expect_found(planted_ref_leak, 3000,
               "luahammer: registry-references: each repeat of this input's calls leaves [0-9]+ more");
}
TEST(ModuleFuzzDeathTest, FindsAFinalizerLuaWillNeverCall) {
  if (kUnderTsan) GTEST_SKIP() << "an execution budget sized for ASan builds";
  expect_found(planted_skipped_gc, 3000,
               "luahammer: finalizers: 1 userdata of class fixture.Tiny will never be finalized");
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
TEST(ModuleFuzzDeathTest, FindsABugReachableOnlyThroughABindingsIndexFunction) {
  expect_found(planted_bug, 2000, "heap-buffer-overflow|runtime error: .* overflowed");
}
TEST(ModuleFuzzDeathTest, FindsASetterThatKeepsEveryValueInAGlobalHistory) {
  // Reachable, so LeakSanitizer is silent; the sanitizer allocator's count is not.
  expect_found(planted_heap_leak, 3000,
               "luahammer: memory-growth: each run of this input on a fresh state keeps [0-9]+ more heap byte");
}
TEST(ModuleFuzz, ACacheThatFillsAndStopsIsNotALeak) {
  // The memory-growth oracle's quiet side: a bounded cache (16 entries, as OpenSSL's error
  // queue) grows over the first runs of an input and then no more; 3 runs had reported it
  // (luaossl's x509.cert, docs/findings.md M21). The same inputs with the unbounded history
  // are found (FindsASetterThatKeepsEveryValueInAGlobalHistory).
  bounded_cache = true;
  run_inputs({"fixture", open_binding}, 3000);
  bounded_cache = false;
  EXPECT_EQ(ring.size(), 16U);  // the setter ran often enough to fill it
  ring.clear();
}
TEST(ModuleFuzzDeathTest, FindsAMethodThatTrustsTheClassOfItsSelf) {
  // Account:peek casts self without checking its class: called on a fixture.Tiny (self
  // drawn from another class's objects), it reads past the one-byte object.
  expect_found(planted_confusion, 2000, "heap-buffer-overflow");
}
#endif
#endif

TEST(ModuleFuzzDeathTest, AClassWhoseObjectsLuaCodeNeverHoldsIsNotCalled) {
  // lua-zlib's streams (docs/findings.md): reaching their __gc with a wrong argument takes
  // debug.getregistry(); the fuzzer must not report that as the module's bug. The class
  // is still discovered, and LUAHAMMER_CALL_UNHELD=1 calls it (the test that this can fail).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto names = luahammer::discover_module_api({"hidden", open_hidden});
  EXPECT_NE(std::find(names.begin(), names.end(), "hidden.stream:__gc"), names.end());
  for (const bool unheld : {false, true}) {
    EXPECT_EXIT(
        {
          if (unheld) setenv("LUAHAMMER_CALL_UNHELD", "1", 1);
          run_inputs({"hidden", open_hidden},
                     kUnderTsan ? 100 : 1000);  // 781 and 853 passed an unheld method as a value
          std::fprintf(stderr, "unchecked calls %d\n", hidden_unchecked_calls);
          std::exit(hidden_unchecked_calls > 0 ? 3 : 0);
        },
        ::testing::ExitedWithCode(unheld ? 3 : 0), "unchecked calls");
  }
}

TEST(ModuleFuzz, CallsMethodsOfUserdataItsFunctionsReturnAndLeaksNothing) {
  calls_to_poke = 0;
  run_inputs({"fake", open_clean}, 400);  // with hook, GC and failure plans; LSan checks at exit
  EXPECT_GT(calls_to_poke, 0);
}

TEST(ModuleFuzz, AMegabyteErrorMessageIsReadWithoutOverflowingTheStack) {
  // The argument-error parser reads a message's start only: libstdc++'s regex matcher
  // recursed per character of this one and overflowed the stack (seen under TSan).
  run_inputs({"fake", open_long_error}, 50);
}

TEST(ModuleFuzzDeathTest, PushingPastTheStackTripsLuaApiChecks) {
  EXPECT_DEATH(run_inputs({"fake", open_overpush}, 400), "stack overflow");
}

TEST(ModuleFuzzDeathTest, ReturningMoreResultsThanPushedTripsLuaApiChecks) {
  EXPECT_DEATH(run_inputs({"fake", open_overreturn}, 400), "not enough elements in the stack");
}

TEST(ModuleFuzzDeathTest, ABlockNeverReturnedToTheAllocatorIsAMemoryFinding) {
  EXPECT_DEATH(run_inputs({"fake", open_leak}, 400),
               "luahammer: memory: [0-9]+ byte\\(s\\) in [0-9]+ block\\(s\\) not returned after lua_close");
}

}  // namespace
namespace {
// Executions to detection of one planted bug (not run by default):
//   LUAHAMMER_TEST_PLANT=<name> harness_module_test --gtest_also_run_disabled_tests \
//     --gtest_filter='*ExecutionsToDetection'
// prints "input N" before each input; the last one printed found it.
TEST(ModuleFuzzMeasure, DISABLED_ExecutionsToDetection) {
  const char* plant = std::getenv("LUAHAMMER_TEST_PLANT");
  ASSERT_NE(plant, nullptr);
  const std::string name = plant;
  for (auto [flag, flag_name] : {std::pair{&planted_bug, "negative_slot"},
                                 {&planted_confusion, "self_confusion"},
                                 {&planted_double_unref, "double_unref"},
                                 {&planted_ref_leak, "ref_leak"},
                                 {&planted_heap_leak, "heap_leak"},
                                 {&planted_skipped_gc, "skipped_gc"}})
    if (name == flag_name) *flag = true;
  setenv("LUAHAMMER_TEST_PROGRESS", "1", 1);
  run_inputs({"fixture", open_binding}, 20000);
}
}  // namespace
