// Generator report: over N random inputs (default 10,000), the share of generated
// programs that compile, that raise a runtime error, and that run past their bound.
// usage: generator_report [N] [seed]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "harness/lua_generator.hpp"
#include "harness/vm_host.hpp"

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  const unsigned long long seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  if (count <= 0) {
    std::fprintf(stderr, "generator_report: N must be a positive number, got '%s'\n", argv[1]);
    return 2;
  }
  std::mt19937_64 rng(seed);
  long compiled = 0;
  long runtime_errors = 0;
  long past_bound = 0;
  luahammer::VmState vm = luahammer::make_vm_state(false, 64 * 1024 * 1024, 2000000);
  for (long i = 0; i < count; ++i) {
    std::vector<std::uint8_t> bytes(64 + rng() % 512);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    const std::string source = luahammer::generate_lua_program(bytes.data(), bytes.size());
    cxxlua::Function chunk;
    try {
      chunk = vm.state->load(source, "=generated");
      ++compiled;
    } catch (const cxxlua::Error&) {
      continue;
    }
    *vm.instructions = 0;
    try {
      (void)chunk.call();
    } catch (const cxxlua::Error& e) {
      if (std::string(e.what()).find("instruction budget exhausted") != std::string::npos) {
        ++past_bound;
      } else {
        ++runtime_errors;
      }
    }
    if (i % 200 == 0) vm.state->collect_garbage();
  }
  std::printf("generator: %ld programs (seed %llu): %.2f%% compile, %.2f%% of those raise a runtime error, %ld run past their bound\n",
              count, seed, 100.0 * static_cast<double>(compiled) / static_cast<double>(count),
              100.0 * static_cast<double>(runtime_errors) / static_cast<double>(compiled ? compiled : 1), past_bound);
  return compiled * 100 >= count * 99 && past_bound == 0 ? 0 : 1;
}
