// Claim: a C++ object owned by a userdata is destroyed exactly once: in __gc, at close,
// or at take()/destroy(); never while borrowed; never if its constructor threw; and an
// allocation failure at any step of creating one leaks nothing. A userdata reached after
// its finalizer (resurrection) raises "userdata has been destructed". Proven with a
// live-instance counter (Tracked) that LSan backs up: Tracked owns heap memory.
#include <gtest/gtest.h>

#include <stdexcept>

#include "test_support.hpp"

namespace cxxlua {
namespace {

using testing::Tracked;

class UserData : public ::testing::Test {
 protected:
  void SetUp() override { Tracked::reset(); }
  void TearDown() override { EXPECT_EQ(Tracked::live, 0) << "a Tracked object was never destroyed"; }
  static void Describe(UserDataBuilder<Tracked>& t) {
    t.method("get", [](const Tracked& self) { return self.value; });
    t.method("set", [](Tracked& self, int v) { self.value = v; });
    t.field("value", [](const Tracked& self) { return self.value; });
    t.field_setter("value", [](Tracked& self, int v) { self.value = v; });
    t.meta("__tostring", [](const Tracked& self) { return "Tracked(" + std::to_string(self.value) + ")"; });
    t.meta("__eq", [](const Tracked& a, const Tracked& b) { return a.value == b.value; });
    t.meta("__lt", [](const Tracked& a, const Tracked& b) { return a.value < b.value; });
    t.meta("__add", [](StateHandle s, const Tracked& a, const Tracked& b) {
      return s.create_userdata<Tracked>(a.value + b.value);
    });
    t.index_fallback([](const Tracked&, std::string key) { return "fallback:" + key; });
  }
};

TEST_F(UserData, DestroyedOnceByCollect) {
  State state;
  state.register_type<Tracked>("Tracked", &Describe);
  { AnyUserData u = state.create_userdata<Tracked>(7); }
  EXPECT_EQ(Tracked::live, 1);
  state.collect_garbage();
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(Tracked::destroyed, 1);
}

TEST_F(UserData, DestroyedOnceAtClose) {
  {
    State state;
    state.globals().set("keep", state.create_userdata<Tracked>(1));
    EXPECT_EQ(Tracked::live, 1);
  }
  EXPECT_EQ(Tracked::destroyed, 1);
}

TEST_F(UserData, TakeMovesTheObjectOutAndGcDoesNotDestroyAgain) {
  State state;
  AnyUserData u = state.create_userdata<Tracked>(5);
  Tracked out = u.take<Tracked>();
  EXPECT_EQ(out.value, 5);
  EXPECT_TRUE(u.is_destructed());
  u = AnyUserData();
  state.collect_garbage();
  EXPECT_EQ(Tracked::live, 1);  // only `out`
  EXPECT_EQ(Tracked::constructed, Tracked::destroyed + 1);
}

TEST_F(UserData, ExplicitDestroyThenCollectDestroysOnce) {
  State state;
  state.register_type<Tracked>("Tracked", &Describe);
  AnyUserData u = state.create_userdata<Tracked>(5);
  state.globals().set("u", u);
  u.destroy();
  u.destroy();  // idempotent
  EXPECT_EQ(Tracked::destroyed, 1);
  try {
    state.exec("return u:get()");
    FAIL();
  } catch (const Error& e) {
    ASSERT_NE(e.cause(), nullptr);
    EXPECT_EQ(e.cause()->kind(), ErrorKind::Destructed);
  }
  u = AnyUserData();
  state.globals().set("u", nullptr);
  state.collect_garbage();
  EXPECT_EQ(Tracked::destroyed, 1);
}

// rlua #19: a finalizer stores an already-finalized userdata, which is then used again.
TEST_F(UserData, ResurrectedUserdataRaisesDestructed) {
  State state;
  state.register_type<Tracked>("Tracked", &Describe);
  state.globals().set("make", state.create_function([](StateHandle s) { return s.create_userdata<Tracked>(3); }));
  state.exec(R"(
    do
      local holder = setmetatable({}, {__gc = function(self) saved = self.ud end})
      holder.ud = make()   -- marked for finalization after holder: finalized first
    end
    collectgarbage() collectgarbage()
  )");
  EXPECT_EQ(Tracked::destroyed, 1);
  MultiValue r = state.exec("local ok, e = pcall(function() return saved:get() end) return ok, tostring(e)");
  EXPECT_FALSE(from_value<bool>(r[0]));
  EXPECT_NE(from_value<std::string>(r[1]).find("userdata has been destructed"), std::string::npos);
}

struct ThrowsOnConstruction {
  explicit ThrowsOnConstruction(bool fail) : t(1) {
    if (fail) throw std::runtime_error("constructor failed");
  }
  Tracked t;
};

TEST_F(UserData, ThrowingConstructorIsNeverDestroyed) {
  State state;
  EXPECT_THROW(state.create_userdata<ThrowsOnConstruction>(true), std::runtime_error);
  state.collect_garbage();
  EXPECT_EQ(Tracked::constructed, Tracked::destroyed);  // the member was unwound once, by C++
  EXPECT_EQ(Tracked::destroyed, 1);
  { AnyUserData ok = state.create_userdata<ThrowsOnConstruction>(false); }
  state.collect_garbage();
  EXPECT_EQ(Tracked::destroyed, 2);
}

TEST_F(UserData, AllocationFailureAtEveryStepOfCreationLeaksNothing) {
  testing::FailingAllocator allocator;
  int successes_before_first = 0;
  for (long long n = 1;; ++n) {
    State state(allocator.options());
    const long long refs = state.live_references();
    allocator.arm(n);
    bool created = false;
    try {
      // First use: registers the type (metatable, methods) and creates the userdata.
      state.register_type<Tracked>("Tracked", &Describe);
      AnyUserData u = state.create_userdata<Tracked>(static_cast<int>(n));
      state.globals().set("u", u);
      created = true;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Memory) << e.what();
    }
    allocator.disarm();
    EXPECT_EQ(lua_gettop(testing::main_thread(state)), 0);
    state.collect_garbage();
    EXPECT_EQ(Tracked::live, created ? 1 : 0) << "at allocation " << n;
    EXPECT_EQ(state.live_references(), refs) << "at allocation " << n;
    if (created && allocator.failures == 0) break;  // no allocation left to fail
    successes_before_first += created ? 0 : 1;
    ASSERT_LT(n, 1000);
  }
  EXPECT_GT(successes_before_first, 3) << "the sweep should have failed several allocations";
  EXPECT_EQ(Tracked::constructed, Tracked::destroyed);
}

// Lua calls each __gc through a protected call that may itself need memory (a CallInfo,
// stack); when that fails Lua only warns, never calls the finalizer again, and frees the
// block later. luahammer's lua_programs target found the leak this caused (docs/findings.md
// #6): the object inside must be destroyed when Lua frees the block.
TEST_F(UserData, ObjectWhoseFinalizerLuaSkippedIsDestroyedWhenLuaFreesIt) {
  testing::FailingAllocator allocator;
  std::size_t skipped = 0;
  for (long long n = 1; n <= 64; ++n) {
    State state(allocator.options());
    state.register_type<Tracked>("Tracked", &Describe);
    // Collecting from the deepest call yet: calling the finalizer needs a new CallInfo.
    Function collect = state.load("collectgarbage()");
    { AnyUserData u = state.create_userdata<Tracked>(1); }
    allocator.arm(n);  // every allocation from the nth on fails
    try {
      collect.call();
    } catch (const Error&) {
      // the call itself ran out of memory before collecting: a later n gets further
    }
    allocator.disarm();
    state.collect_garbage();
    skipped += testing::finalizers_skipped_by_lua(state);
    EXPECT_EQ(Tracked::live, 0) << "failing from allocation " << n;
    // Lua reported each call it could not make (its "error in __gc" warning).
    EXPECT_GE(testing::finalizer_call_failures(state), testing::finalizers_skipped_by_lua(state))
        << "failing from allocation " << n;
  }
  EXPECT_GT(skipped, 0u) << "no allocation failure made Lua skip a finalizer: the test proves nothing";
  EXPECT_EQ(Tracked::constructed, Tracked::destroyed);
}

TEST_F(UserData, BorrowRules) {
  State state;
  state.register_type<Tracked>("Tracked", &Describe);
  AnyUserData u = state.create_userdata<Tracked>(1);
  {
    auto a = u.borrow<Tracked>();
    auto b = u.borrow<Tracked>();
    EXPECT_EQ(a->value + b->value, 2);
    try {
      (void)u.borrow_mut<Tracked>();
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Borrow);
    }
    EXPECT_THROW(u.destroy(), Error);
    EXPECT_THROW(u.take<Tracked>(), Error);
    EXPECT_THROW(state.close(), Error);  // closing while borrowed is refused
  }
  {
    auto m = u.borrow_mut<Tracked>();
    m->value = 9;
    EXPECT_THROW((void)u.borrow<Tracked>(), Error);
    state.globals().set("u", u);
    // Lua asking for a mutable borrow meanwhile gets a clean error.
    EXPECT_THROW(state.exec("u:set(3)"), Error);
  }
  EXPECT_EQ(u.borrow<Tracked>()->value, 9);
}

TEST_F(UserData, MethodsFieldsAndMetamethods) {
  State state;
  state.register_type<Tracked>("Tracked", &Describe);
  state.globals().set("a", state.create_userdata<Tracked>(2));
  state.globals().set("b", state.create_userdata<Tracked>(3));
  EXPECT_EQ(state.load("a:set(4) return a:get()").call_as<int>(), 4);
  EXPECT_EQ(state.load("a.value = 5 return a.value").call_as<int>(), 5);
  EXPECT_EQ(state.load("return tostring(a)").call_as<std::string>(), "Tracked(5)");
  EXPECT_EQ(state.load("return (a + b):get()").call_as<int>(), 8);
  EXPECT_TRUE(state.load("return b < a").call_as<bool>());
  EXPECT_FALSE(state.load("return a == b").call_as<bool>());
  EXPECT_EQ(state.load("return a.unknown").call_as<std::string>(), "fallback:unknown");
  EXPECT_EQ(state.load("return getmetatable(a)").call_as<bool>(), false);  // hidden
  EXPECT_THROW(state.exec("local x = a.get(42)"), Error);                  // wrong self type
}

struct Resource {
  static inline int closed = 0;
  Tracked t{0};
};

TEST_F(UserData, CloseMetamethodRunsForToBeClosedVariables) {
  State state;
  Resource::closed = 0;
  state.register_type<Resource>("Resource", [](UserDataBuilder<Resource>& r) {
    r.meta("__close", [](const Resource&, Value) { ++Resource::closed; });
  });
  state.globals().set("open", state.create_function([](StateHandle s) { return s.create_userdata<Resource>(); }));
  state.exec("do local r <close> = open() end");
  EXPECT_EQ(Resource::closed, 1);
  EXPECT_THROW(state.exec("do local r <close> = open() error('x') end"), Error);
  EXPECT_EQ(Resource::closed, 2);
}

}  // namespace
}  // namespace cxxlua
