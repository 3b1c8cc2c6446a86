// Claim: sandboxed code cannot reach the file system or the process: os, io, package,
// require, debug, dofile, loadfile are absent and binary chunks cannot be loaded; loaded
// text chunks see the globals; the bounds that hold where hooks do not (finalizers, long
// C calls) refuse cleanly; Lua code cannot forge the warnings the oracles count.
#include <gtest/gtest.h>

#include <luahammer/core/oracles.hpp>
#include <luahammer/core/sandbox.hpp>
#include <luahammer/opvm/vm_host.hpp>
#include <cxxlua/testing.hpp>

namespace luahammer {
namespace {

TEST(Sandbox, DangerousLibrariesAndFunctionsAreUnreachable) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  for (const char* name : {"os", "io", "package", "require", "debug", "dofile", "loadfile"}) {
    EXPECT_TRUE(state.load(std::string("return ") + name + " == nil").call_as<bool>()) << name;
  }
}

TEST(Sandbox, BinaryChunksAreRefusedEvenWhenAsked) {
  cxxlua::State state(sandbox_options());
  // A binary chunk made outside the sandbox.
  cxxlua::State maker;
  std::string binary = maker.load("return string.dump(function() return 1 end)").call_as<std::string>();
  apply_sandbox(state);
  state.globals().set("binary", binary);
  cxxlua::MultiValue r = state.exec("local f, err = load(binary, 'x', 'b') return f == nil, err");
  EXPECT_TRUE(cxxlua::from_value<bool>(r[0]));
  EXPECT_NE(cxxlua::from_value<std::string>(r[1]).find("binary"), std::string::npos);
  EXPECT_THROW((void)state.load(binary), cxxlua::Error);
  EXPECT_TRUE(state.load("return string.dump == nil").call_as<bool>());
}

TEST(Sandbox, TextLoadStillWorks) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  EXPECT_EQ(state.load("return load('return 1 + 1')()").call_as<int>(), 2);
}

TEST(Sandbox, LoadedChunksSeeTheGlobalsUnlessGivenAnEnvironment) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  EXPECT_EQ(state.load("x = 41 return load('return x + 1')()").call_as<int>(), 42);
  EXPECT_EQ(state.load("return load('return x', 'n', 't', {x = 7})()").call_as<int>(), 7);
  EXPECT_THROW(state.exec("return load('return x', 'n', 't', nil)()"), cxxlua::Error);  // nil given: no globals
}

TEST(Sandbox, ModeWithoutTextIsRefusedNotWidened) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  cxxlua::MultiValue r = state.exec("return load('return 1', 'x', 'b')");
  EXPECT_TRUE(r[0].is_nil());
  EXPECT_NE(cxxlua::from_value<std::string>(r[1]).find("binary"), std::string::npos);
  EXPECT_EQ(state.load("return load('return 3', 'x', 'bt')()").call_as<int>(), 3);
}

TEST(Sandbox, LoadedChunksNeverCarryAHarnessChunkName) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  const std::string message =
      state.load("local ok, e = pcall(load('error(\"x\")', '=self-check')) return e").call_as<std::string>();
  EXPECT_EQ(message.rfind("load =self-check:1:", 0), 0u) << message;
}

TEST(Sandbox, LuaWarningsCannotPoseAsAFailedFinalizer) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  state.exec("warn('error in ', '__gc', ' (', 'not enough memory', ')')");
  EXPECT_EQ(cxxlua::testing::finalizer_call_failures(state), 0u);
  EXPECT_THROW(state.exec("warn({})"), cxxlua::Error);
}

TEST(Sandbox, LuaFinalizerRaisingOutOfMemoryIsNotCountedAsAFailedFinalizer) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  state.exec("setmetatable({}, {__gc = function() error('not enough memory', 0) end}) collectgarbage()");
  EXPECT_EQ(cxxlua::testing::finalizer_call_failures(state), 0u);
}

TEST(Sandbox, LuaFinalizersRunInACoroutineOfTheirOwn) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  cxxlua::MultiValue r = state.exec(
      "local seen, got setmetatable({}, {__gc = function(o) seen = coroutine.isyieldable() got = o end}) "
      "collectgarbage() collectgarbage() return seen, type(got)");
  EXPECT_TRUE(cxxlua::from_value<bool>(r[0]));
  EXPECT_EQ(cxxlua::from_value<std::string>(r[1]), "table");
}

TEST(Sandbox, CostlyPatternsAndHugeMovesAreRefusedCheapOnesRun) {
  cxxlua::State state(sandbox_options());
  apply_sandbox(state);
  EXPECT_THROW(state.exec("local s = string.rep('a', 40) return s:find(string.rep('a*', 40) .. 'b')"), cxxlua::Error);
  EXPECT_THROW(state.exec("return table.move({}, 1, 1e9, 2)"), cxxlua::Error);
  EXPECT_THROW(state.exec("return table.move({}, 1, 3e9, 2)"), cxxlua::Error);
  EXPECT_EQ(state.load("return ('hello world'):find('o w')").call_as<int>(), 5);
  EXPECT_EQ(state.load("return (('  x  '):gsub('^%s*(.-)%s*$', '%1'))").call_as<std::string>(), "x");
  EXPECT_EQ(state.load("return string.find(string.rep('a*', 40), 'a*', 1, true)").call_as<int>(), 1);
  EXPECT_EQ(state.load("return #table.move({1, 2, 3}, 1, 3, 2)").call_as<int>(), 4);
}

std::string last_oracle;
void record(const char* oracle, const std::string&) { last_oracle = oracle; }

// The self-check oracle fires for the self-checking snippet's chunk and for nothing else.
TEST(Sandbox, OnlyTheSelfCheckingSnippetCanFailHostCheck) {
  VmState vm = make_vm_state(false, 16 * 1024 * 1024, 200000);
  const ViolationHandler previous = set_violation_handler(&record);
  last_oracle.clear();
  (void)vm.state->load("host.check(false, 'x')", kSelfCheckChunk).call();
  EXPECT_EQ(last_oracle, "semantics");
  last_oracle.clear();
  for (const char* forged : {"host.check()", "return pcall(host.check, false)",
                             "load('host.check(false)', '=self-check')()", "host.check(false)"}) {
    try {
      (void)vm.state->load(forged, "=input").call();  // a clean error, or caught by pcall
    } catch (const cxxlua::Error&) {
    }
    EXPECT_EQ(last_oracle, "") << forged;
  }
  EXPECT_THROW((void)vm.state->load("host.check(false)", "=input").call(), cxxlua::Error);
  set_violation_handler(previous);
  check_and_close(vm, "the test");
}

}  // namespace
}  // namespace luahammer
