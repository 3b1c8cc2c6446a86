// Claim: Lua functions are callable with any number of arguments and results (0..10,000),
// host functions wrap any C++ callable with typed, optional and variadic arguments and
// multiple results; C++ exceptions become Lua errors carrying the message, Lua errors
// become cxxlua::Error with message and traceback; stored functions can be called later.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "test_support.hpp"

namespace cxxlua {
namespace {

TEST(Functions, LuaCallWithTenThousandArguments) {
  State state;
  Function count = state.load("return select('#', ...), (select(10000, ...))");
  MultiValue args;
  for (int i = 1; i <= 10000; ++i) args.emplace_back(lua_Integer{i});
  MultiValue results = count.call_values(args);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(from_value<int>(results[0]), 10000);
  EXPECT_EQ(from_value<int>(results[1]), 10000);
}

// Borrowed arguments: pushed from the caller's values, which stay as they were; building
// them takes no handle (the live references are the caller's own, before and after).
TEST(Functions, CallWithBorrowedArgumentsTakesNoHandleForThem) {
  State state;
  Function count = state.load("local t = ... return select('#', ...), t.k, (select(299, ...))");
  Table table = state.create_table();
  table.set("k", lua_Integer{7});
  const Value values[] = {Value(table), Value(lua_Integer{5}), Value(state.create_string("s"))};
  std::vector<const Value*> args;
  for (int i = 0; i < 299; ++i) args.push_back(&values[i % 3]);
  const long long live = state.live_references();
  MultiValue results = count.call_borrowed(args);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(from_value<int>(results[0]), 299);
  EXPECT_EQ(from_value<int>(results[1]), 7);
  EXPECT_EQ(from_value<int>(results[2]), 5);  // the 299th: values[298 % 3]
  results.clear();
  EXPECT_EQ(state.live_references(), live);
  EXPECT_EQ(from_value<int>(values[1]), 5);
  EXPECT_EQ(values[0].get_if<Table>()->get<int>("k"), 7);
}

TEST(Functions, HostFunctionReturningThreeHundredValues) {
  State state;
  state.globals().set("many", state.create_function([] {
    MultiValue out;
    for (int i = 0; i < 300; ++i) out.emplace_back(lua_Integer{i});
    return out;
  }));
  MultiValue results = state.exec("local t = {many()} return #t, t[300]");
  EXPECT_EQ(from_value<int>(results[0]), 300);
  EXPECT_EQ(from_value<int>(results[1]), 299);
  EXPECT_EQ(state.load("return select('#', many())").call_as<int>(), 300);
}

// Each result that becomes a handle takes a stack slot for the copy luaL_ref pops: a Lua
// function returning more values than its caller made room for (Lua's guaranteed 20)
// must still convert them all (found by the lua_source target: an API check failed).
TEST(Functions, TwentyTwoStringTableAndFunctionResultsBecomeHandles) {
  State state;
  Function many = state.load(
      "return 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', "
      "{}, function() end");
  MultiValue results = many.call_values({});
  ASSERT_EQ(results.size(), 22u);
  EXPECT_EQ(from_value<std::string>(results[19]), "t");
  EXPECT_TRUE(results[20].get_if<Table>() != nullptr);
  EXPECT_TRUE(results[21].get_if<Function>() != nullptr);
}

// Unbounded pcall recursion ends in Lua's "C stack overflow" and returns about 200 values
// to the host: a clean result, never an API check failure.
TEST(Functions, UnboundedPcallRecursionReturnsCleanly) {
  State state;
  MultiValue results = state.exec("local function f() return pcall(f) end return f()");
  ASSERT_GT(results.size(), 20u);
  const auto* message = results.back().get_if<String>();
  ASSERT_NE(message, nullptr);
  EXPECT_NE(message->to_std_string().find("stack overflow"), std::string::npos);
}

TEST(Functions, TypedOptionalVariadicArgumentsAndMultipleReturns) {
  State state;
  auto f = state.create_function([](int a, std::optional<std::string> label, MultiValue rest) {
    return std::make_tuple(a * 2, label.value_or("none"), static_cast<int>(rest.size()));
  });
  auto [doubled, label, rest] = f.call_as<std::tuple<int, std::string, int>>(21, "x", true, false);
  EXPECT_EQ(doubled, 42);
  EXPECT_EQ(label, "x");
  EXPECT_EQ(rest, 2);
  EXPECT_EQ((std::get<1>(f.call_as<std::tuple<int, std::string, int>>(1))), "none");
}

TEST(Functions, LambdaCapturesAndMemberFunctions) {
  struct Accumulator {
    int total = 0;
    int add(int x) { return total += x; }
  } acc;
  State state;
  auto add = state.create_function([&acc](int x) { return acc.add(x); });
  state.globals().set("add", add);
  state.exec("add(1) add(2) add(3)");
  EXPECT_EQ(acc.total, 6);
}

TEST(Functions, CxxExceptionBecomesALuaErrorWithItsMessage) {
  State state;
  state.globals().set("fail", state.create_function([]() -> int { throw std::runtime_error("kaput"); }));
  // Lua code sees an error value whose text carries the message.
  EXPECT_EQ(state.exec("local ok, e = pcall(fail) return ok, tostring(e)")[1].get_if<String>()->to_std_string(),
            "callback error: kaput");
  try {
    state.exec("fail()");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Callback);
    EXPECT_EQ(e.message(), "kaput");
  }
}

TEST(Functions, CallbackErrorKeepsItsCauseChain) {
  State state;
  state.globals().set("inner", state.create_function([] { throw Error(ErrorKind::Conversion, "deep cause"); }));
  try {
    state.exec("inner()");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Callback);
    ASSERT_NE(e.cause(), nullptr);
    EXPECT_EQ(e.cause()->kind(), ErrorKind::Conversion);
    EXPECT_EQ(e.cause()->message(), "deep cause");
  }
}

TEST(Functions, LuaErrorBecomesAnErrorWithMessageAndTraceback) {
  State state;
  try {
    state.exec("local function f() error('lua says no') end f()", "=script");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_EQ(e.message(), "script:1: lua says no");
    EXPECT_NE(e.traceback().find("stack traceback:"), std::string::npos);
  }
}

TEST(Functions, NonStringErrorValuesAreDescribed) {
  State state;
  try {
    state.exec("error({code = 7})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "(error object is a table value)");
  }
  try {
    state.exec("error(42)");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "42");
  }
}

TEST(Functions, ConversionErrorNamesArgumentAndTypes) {
  State state;
  auto f = state.create_function([](int, int, int) {});
  try {
    f.call(1, 2, "three");
    FAIL();
  } catch (const Error& e) {
    ASSERT_NE(e.cause(), nullptr);
    EXPECT_EQ(e.cause()->message(), "bad argument #3: integer expected, got string");
  }
}

struct Plugin {
  Function on_event;
};

TEST(Functions, StoredFunctionsCanBeCalledLater) {
  State state;
  Plugin plugin;
  state.globals().set("register", state.create_function([&](Function f) { plugin.on_event = f; }));
  state.exec("local n = 10 register(function(x) n = n + x return n end)");
  state.collect_garbage();
  EXPECT_EQ(plugin.on_event.call_as<int>(5), 15);
  EXPECT_EQ(plugin.on_event.call_as<int>(5), 20);
}

TEST(Functions, HostFunctionCallingBackIntoLua) {
  State state;
  state.globals().set("twice",
                      state.create_function([](Function f, int x) { return f.call_as<int>(f.call_as<int>(x)); }));
  EXPECT_EQ(state.load("return twice(function(v) return v * 3 end, 2)").call_as<int>(), 18);
}

}  // namespace

// A type of the user's own, passed by value through Convert<T> (convert.hpp).
struct Celsius {
  double degrees;
};
template <>
struct Convert<Celsius> {
  using carrier = double;
  static double to_lua(const Celsius& c) { return c.degrees; }
  static Celsius from_lua(double degrees) {
    if (degrees < -273.15) throw std::invalid_argument("below absolute zero");
    return Celsius{degrees};
  }
};

namespace {

TEST(Functions, AUserTypeConvertsThroughItsConvertSpecialization) {
  State state;
  state.globals().set("warmer", state.create_function([](Celsius c) { return Celsius{c.degrees + 1}; }));
  EXPECT_EQ(state.load("return warmer(21.5)").call_as<double>(), 22.5);
  EXPECT_EQ(from_value<Celsius>(state.load("return 3").call_values({}).front()).degrees, 3.0);
  // The carrier's refusal, with its expected type; and the user's own refusal.
  const auto refused =
      state.load("local ok, e = pcall(warmer, 'hot') return ok, tostring(e)").call_as<std::tuple<bool, std::string>>();
  EXPECT_FALSE(std::get<0>(refused));
  EXPECT_NE(std::get<1>(refused).find("number expected"), std::string::npos) << std::get<1>(refused);
  const auto cold =
      state.load("local ok, e = pcall(warmer, -300) return ok, tostring(e)").call_as<std::tuple<bool, std::string>>();
  EXPECT_FALSE(std::get<0>(cold));
  EXPECT_NE(std::get<1>(cold).find("below absolute zero"), std::string::npos) << std::get<1>(cold);
}

}  // namespace
}  // namespace cxxlua
