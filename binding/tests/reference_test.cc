// Claim: a handle holds exactly one registry reference, anchored to the main thread.
// Copies take a new one, drops release it once; after close a drop does nothing and a
// use raises StateClosed (ASan stays quiet); a drop from inside a finalizer is deferred
// to the next entry instead of calling into Lua. Counted with the core's ledger.
#include <gtest/gtest.h>

#include <optional>
#include <string>
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

// An empty handle (default-constructed, moved from, reset) used through any method is a
// clean Runtime error, never a dereference of its missing state (UBSan reported one: a
// stored function called after the host had moved it out, fuzz finding 0011 of
// coroutines_async).
template <class Use>
void expect_empty_handle_error(const char* what, Use&& use) {
  try {
    use();
    ADD_FAILURE() << what << ": use of an empty handle succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime) << what;
    EXPECT_NE(std::string(e.what()).find("use of an empty handle"), std::string::npos) << what << ": " << e.what();
  }
}

struct Plain {
  int n = 0;
};

TEST(References, UseOfAnEmptyHandleIsARuntimeError) {
  State state;
  const long long base = state.live_references();
  Function f;
  Function moved_from = state.load("return 1");
  Function taken = std::move(moved_from);
  const Value arg(1);
  const Value* borrowed[] = {&arg};
  for (Function* empty : {&f, &moved_from}) {
    expect_empty_handle_error("Function::call", [&] { (void)empty->call(1, 2); });
    expect_empty_handle_error("Function::call_as", [&] { (void)empty->call_as<int>(); });
    expect_empty_handle_error("Function::call_values", [&] { (void)empty->call_values({arg}); });
    expect_empty_handle_error("Function::call_borrowed", [&] { (void)empty->call_borrowed(borrowed); });
  }
  Table t;
  expect_empty_handle_error("Table::get", [&] { (void)t.get("k"); });
  expect_empty_handle_error("Table::set", [&] { t.set("k", 1); });
  expect_empty_handle_error("Table::raw_get", [&] { (void)t.raw_get(1); });
  expect_empty_handle_error("Table::raw_set", [&] { t.raw_set(1, 1); });
  expect_empty_handle_error("Table::contains_key", [&] { (void)t.contains_key(1); });
  expect_empty_handle_error("Table::len", [&] { (void)t.len(); });
  expect_empty_handle_error("Table::raw_len", [&] { (void)t.raw_len(); });
  expect_empty_handle_error("Table::metatable", [&] { (void)t.metatable(); });
  expect_empty_handle_error("Table::set_metatable", [&] { t.set_metatable(std::nullopt); });
  expect_empty_handle_error("Table::pairs", [&] { (void)t.pairs(); });
  expect_empty_handle_error("Table::for_each", [&] { t.for_each([](const Value&, const Value&) {}); });
  expect_empty_handle_error("Table::push_back", [&] { t.push_back(1); });
  expect_empty_handle_error("Table::sequence_values", [&] { (void)t.sequence_values(); });
  expect_empty_handle_error("Table::set_function", [&] { t.set_function("f", [] { return 1; }); });
  String s;
  expect_empty_handle_error("String::to_std_string", [&] { (void)s.to_std_string(); });
  expect_empty_handle_error("String::size", [&] { (void)s.size(); });
  Thread co;
  expect_empty_handle_error("Thread::resume", [&] { (void)co.resume(1); });
  expect_empty_handle_error("Thread::resume_values", [&] { (void)co.resume_values({}); });
  expect_empty_handle_error("Thread::status", [&] { (void)co.status(); });
  expect_empty_handle_error("Thread::close", [&] { co.close(); });
  expect_empty_handle_error("Thread::reset", [&] { co.reset(taken); });
  expect_empty_handle_error("Thread::set_hook", [&] {
    co.set_hook(HookTriggers{.every_line = true}, [](StateHandle&, const HookEvent&) { return HookAction::resume(); });
  });
  expect_empty_handle_error("Thread::remove_hook", [&] { co.remove_hook(); });
  AnyUserData u;
  expect_empty_handle_error("AnyUserData::is", [&] { (void)u.is<Plain>(); });
  expect_empty_handle_error("AnyUserData::borrow", [&] { (void)u.borrow<Plain>(); });
  expect_empty_handle_error("AnyUserData::borrow_mut", [&] { (void)u.borrow_mut<Plain>(); });
  expect_empty_handle_error("AnyUserData::take", [&] { (void)u.take<Plain>(); });
  expect_empty_handle_error("AnyUserData::destroy", [&] { u.destroy(); });
  expect_empty_handle_error("AnyUserData::is_destructed", [&] { (void)u.is_destructed(); });
  // Passing an empty handle to Lua is the same error.
  expect_empty_handle_error("Table::set with an empty value", [&] { state.globals().set("g", Function()); });
  // The state is unharmed: the handle moved to still works and the ledger balances.
  EXPECT_EQ(taken.call_as<int>(), 1);
  taken.reset();
  EXPECT_EQ(state.live_references(), base);
}

}  // namespace
}  // namespace cxxlua
