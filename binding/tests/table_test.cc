// Claim: tables support get/set through metamethods and raw access, length with __len,
// iteration in next() order that turns modification errors into clean errors,
// metatables and sequence helpers; every operation leaves the stack balanced.
#include <gtest/gtest.h>

#include <stdexcept>

#include "test_support.hpp"

namespace cxxlua {
namespace {

TEST(Tables, GetSetGoThroughMetamethodsRawDoesNot) {
  State state;
  Table t = state.exec("return setmetatable({}, {__index = function(_, k) return k .. '!' end})")[0].get_if<Table>()[0];
  EXPECT_EQ(t.get<std::string>("hi"), "hi!");
  EXPECT_TRUE(t.raw_get("hi").is_nil());
  t.raw_set("hi", "raw");
  EXPECT_EQ(t.get<std::string>("hi"), "raw");
  EXPECT_TRUE(t.contains_key("hi"));
}

TEST(Tables, LengthWithAndWithoutLenMetamethod) {
  State state;
  Table t = state.exec("return setmetatable({1, 2, 3}, {__len = function() return 99 end})")[0].get_if<Table>()[0];
  EXPECT_EQ(t.len(), 99);
  EXPECT_EQ(t.raw_len(), 3);
}

TEST(Tables, ErrorInMetamethodIsACleanError) {
  State state;
  Table t =
      state.exec("return setmetatable({}, {__newindex = function() error('read only') end})")[0].get_if<Table>()[0];
  EXPECT_THROW(t.set("x", 1), Error);
  t.raw_set("x", 1);
  EXPECT_EQ(t.get<int>("x"), 1);
}

TEST(Tables, PairsVisitsEveryEntry) {
  State state;
  Table t = state.create_table();
  for (int i = 1; i <= 10; ++i) t.set(i, i * i);
  t.set("name", "value");
  int count = 0;
  lua_Integer sum = 0;
  for (auto& [key, value] : t.pairs()) {
    ++count;
    if (key.type() == Type::Integer) sum += from_value<lua_Integer>(value);
  }
  EXPECT_EQ(count, 11);
  EXPECT_EQ(sum, 385);
}

TEST(Tables, ModificationDuringIterationIsACleanErrorOrFine) {
  State state;
  Table t = state.create_table();
  for (int i = 0; i < 64; ++i) t.set("k" + std::to_string(i), i);
  int visited = 0;
  // Clearing the current key is allowed by Lua; adding keys may break next(): it must
  // never be undefined behaviour.
  try {
    t.for_each([&](const Value& key, const Value&) {
      ++visited;
      t.set(key, nullptr);
      t.set("new" + std::to_string(visited), visited);
    });
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
  }
  EXPECT_GT(visited, 0);
}

TEST(Tables, MetatablesAndSequenceHelpers) {
  State state;
  Table t = state.create_table();
  EXPECT_FALSE(t.metatable().has_value());
  Table mt = state.create_table();
  mt.set("__index", mt);
  mt.set("greeting", "hello");
  t.set_metatable(mt);
  EXPECT_EQ(t.get<std::string>("greeting"), "hello");
  ASSERT_TRUE(t.metatable().has_value());
  EXPECT_TRUE(t.metatable()->same_object(mt));
  t.set_metatable(std::nullopt);
  EXPECT_TRUE(t.get("greeting").is_nil());
  t.push_back(10);
  t.push_back("twenty");
  t.push_back(30.5);
  MultiValue seq = t.sequence_values();
  ASSERT_EQ(seq.size(), 3u);
  EXPECT_EQ(from_value<int>(seq[0]), 10);
  EXPECT_EQ(from_value<std::string>(seq[1]), "twenty");
  EXPECT_DOUBLE_EQ(from_value<double>(seq[2]), 30.5);
}

// set_function makes the host function inside the store itself: it goes through __newindex
// as set does, and under every allocation failure it either stores a working function or
// throws a clean error, with nothing on the stack and the callback freed with the state.
TEST(Tables, SetFunctionStoresAHostFunctionWithNoHandleInBetween) {
  State state;
  Table api = state.create_table();
  int calls = 0;
  api.set_function("add", [&calls](lua_Integer a, lua_Integer b) {
    ++calls;
    return a + b;
  });
  api.set_function("fail", []() -> int { throw std::runtime_error("set_function: refused"); });
  state.globals().set("api", api);
  EXPECT_EQ(state.load("return api.add(2, 3)").call_as<int>(), 5);
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(state.exec("api.fail()"), Error);
  Table logged = state
                     .exec(
                         "seen = {} return setmetatable({}, {__newindex = function(t, k, v) seen[#seen + 1] = k "
                         "rawset(t, k, v) end})")[0]
                     .get_if<Table>()[0];
  logged.set_function("echo", [](MultiValue args) { return args; });
  EXPECT_EQ(state.load("return seen[1]").call_as<std::string>(), "echo");
  EXPECT_EQ(testing::main_top(state), 0);
  int refused = 0;
  bool last_stored = false;
  for (long long n = 1; n <= 40; ++n) {
    testing::FailingAllocator allocator;
    State limited(allocator.options());
    Table t = limited.create_table();
    allocator.arm(n);
    bool stored = true;
    try {
      t.set_function("twice", [](lua_Integer v) { return 2 * v; });
    } catch (const Error& e) {
      stored = false;
      ++refused;
      EXPECT_EQ(e.kind(), ErrorKind::Memory) << n;
    }
    allocator.disarm();
    EXPECT_EQ(testing::main_top(limited), 0) << n;
    if (stored) {
      limited.globals().set("t", t);
      EXPECT_EQ(limited.load("return t.twice(21)").call_as<int>(), 42) << n;
    }
    last_stored = stored;
  }
  EXPECT_GT(refused, 0);  // the sweep reached the failures it is for
  EXPECT_TRUE(last_stored);
}

TEST(Tables, GlobalsAndRegistry) {
  State state;
  state.globals().set("answer", 42);
  EXPECT_EQ(state.load("return answer").call_as<int>(), 42);
  EXPECT_GT(state.registry().raw_len(), 0);
}

}  // namespace
}  // namespace cxxlua
