// Claim: the generator is deterministic, its programs compile (>= 99%) and always finish
// within their instruction budget; runtime errors are allowed but not the majority.
// (harness/bench/generator_report runs the same measurement over 10,000 inputs.)
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "harness/lua_generator.hpp"
#include "harness/vm_host.hpp"

namespace luahammer {
namespace {

std::vector<std::uint8_t> RandomBytes(std::mt19937_64& rng, std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

TEST(LuaGenerator, SameBytesSameProgram) {
  std::mt19937_64 rng(1);
  const auto bytes = RandomBytes(rng, 256);
  EXPECT_EQ(generate_lua_program(bytes.data(), bytes.size()), generate_lua_program(bytes.data(), bytes.size()));
  const auto other = RandomBytes(rng, 256);
  EXPECT_NE(generate_lua_program(bytes.data(), bytes.size()), generate_lua_program(other.data(), other.size()));
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LUAHAMMER_UNDER_TSAN 1
#endif
#endif

TEST(LuaGenerator, ProgramsCompileAndFinishWithinTheirBound) {
  std::mt19937_64 rng(20261121);
  // A property of the generator, not of threads: TSan runs a sample (it is ~60x slower
  // here, and one unexplained TSan-internal SEGV was seen in CI on the full set).
#if defined(LUAHAMMER_UNDER_TSAN)
  constexpr int kPrograms = 300;
#else
  constexpr int kPrograms = 1500;
#endif
  int compiled = 0;
  int runtime_errors = 0;
  int past_bound = 0;
  VmState vm = make_vm_state(false, 32 * 1024 * 1024, 2000000);
  std::string first_failure;
  for (int i = 0; i < kPrograms; ++i) {
    const auto bytes = RandomBytes(rng, 64 + rng() % 512);
    const std::string source = generate_lua_program(bytes.data(), bytes.size());
    cxxlua::Function chunk;
    try {
      chunk = vm.state->load(source, "=generated");
      ++compiled;
    } catch (const cxxlua::Error& e) {
      if (first_failure.empty()) first_failure = std::string(e.what()) + "\n" + source;
      continue;
    }
    *vm.instructions = 0;
    try {
      (void)chunk.call();
    } catch (const cxxlua::Error& e) {
      if (std::string(e.what()).find("instruction budget exhausted") != std::string::npos) {
        ++past_bound;
        if (first_failure.empty()) first_failure = source;
      } else {
        ++runtime_errors;
      }
    }
    if (i % 100 == 0) vm.state->collect_garbage();
  }
  std::printf("generator: %d programs, %.2f%% compile, %.2f%% raise a runtime error, %d past their bound\n", kPrograms,
              100.0 * compiled / kPrograms, 100.0 * runtime_errors / std::max(compiled, 1), past_bound);
  EXPECT_GE(compiled * 100, kPrograms * 99) << first_failure;
  EXPECT_EQ(past_bound, 0) << first_failure;
  EXPECT_LT(runtime_errors * 2, compiled) << "most programs raise: the generator is too careless";
}

}  // namespace
}  // namespace luahammer
