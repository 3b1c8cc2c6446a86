// Claim: sandboxed code cannot reach the file system or the process: os, io, package,
// require, debug, dofile, loadfile are absent and binary chunks cannot be loaded.
#include <gtest/gtest.h>

#include "harness/sandbox.hpp"

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

}  // namespace
}  // namespace luahammer
