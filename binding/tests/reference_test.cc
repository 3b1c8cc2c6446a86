// Claim: a handle holds exactly one registry reference, anchored to the main thread.
// Copies take a new one, drops release it once; after close a drop does nothing and a
// use raises StateClosed (ASan stays quiet); a drop from inside a finalizer is deferred
// to the next entry instead of calling into Lua. Counted with the core's ledger.
#include <gtest/gtest.h>

#include <vector>

#include "test_support.hpp"

namespace cxxlua {
namespace {

TEST(References, CopyMoveAndDropBalanceTheLedger) {
  State state;
  const long long base = state.live_references();
  {
    Table t = state.create_table();
    EXPECT_EQ(state.live_references(), base + 1);
    Table copy = t;
    EXPECT_EQ(state.live_references(), base + 2);
    EXPECT_TRUE(copy.same_object(t));
    Table moved = std::move(copy);
    EXPECT_EQ(state.live_references(), base + 2);
    std::vector<Value> many(100, Value(t));
    EXPECT_EQ(state.live_references(), base + 102);
    many.clear();
    moved = t;  // copy-assign over a live handle releases the old reference
    EXPECT_EQ(state.live_references(), base + 2);
  }
  EXPECT_EQ(state.live_references(), base);
}

TEST(References, DropAfterCloseDoesNothing) {
  auto state = std::make_unique<State>();
  Table t = state->create_table();
  Function f = state->load("return 1");
  state->close();
  EXPECT_FALSE(t.state_alive());
  // Destroying handles now must not touch freed memory (ASan would report it).
  t = Table();
  Function copy = f;  // copying a dead handle gives a dead handle
  EXPECT_FALSE(copy.state_alive());
}

TEST(References, UseAfterCloseIsAStateClosedError) {
  State state;
  Function f = state.load("return 42");
  Table t = state.create_table();
  state.close();
  try {
    (void)f.call();
    FAIL() << "call after close succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::StateClosed);
  }
  EXPECT_THROW(t.set("a", 1), Error);
  EXPECT_THROW((void)state.create_table(), Error);
}

TEST(References, ReferenceCreatedInsideACoroutineOutlivesIt) {
  State state;
  std::vector<Table> kept;
  state.globals().set("keep", state.create_function([&](Table t) { kept.push_back(t); }));
  state.exec(R"(
    local co = coroutine.wrap(function()
      local t = {answer = 42}
      keep(t)
      coroutine.yield()
    end)
    co()
  )");
  state.collect_garbage();  // the coroutine is unreachable now
  state.collect_garbage();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].get<int>("answer"), 42);
}

struct HoldsFunction {
  Function stored;
};

TEST(References, DropInsideAFinalizerIsDeferredToTheNextEntry) {
  State state;
  const long long base = state.live_references();
  {
    AnyUserData holder = state.create_userdata<HoldsFunction>(HoldsFunction{state.load("return 1")});
    EXPECT_EQ(state.live_references(), base + 2);
  }
  state.collect_garbage();  // __gc destroys HoldsFunction; its Function drop is queued
  state.collect_garbage();
  (void)state.create_table();  // any entry releases the queued slot
  EXPECT_EQ(state.live_references(), base);
}

// mlua #423: a stored function, also held by a userdata, outliving its state.
TEST(References, StoredFunctionDroppedDuringAndAfterClose) {
  auto host_copy = std::make_unique<Function>();
  {
    State state;
    Function f = state.load("return 'still here'");
    *host_copy = f;
    state.globals().set("holder", state.create_userdata<HoldsFunction>(HoldsFunction{f}));
  }  // close: the userdata's finalizer drops its copy while the state is being destroyed
  try {
    (void)host_copy->call();
    FAIL() << "call after close succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::StateClosed);
  }
  host_copy.reset();  // drop after close: nothing happens
}

TEST(References, HandleOfAnotherStateIsRejected) {
  State a;
  State b;
  Table from_a = a.create_table();
  try {
    b.globals().set("x", from_a);
    FAIL() << "cross-state handle accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::WrongState);
  }
}

}  // namespace
}  // namespace cxxlua
