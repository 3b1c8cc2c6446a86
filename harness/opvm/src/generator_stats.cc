#include <luahammer/opvm/generator_stats.hpp>

#include <random>
#include <vector>

#include <luahammer/core/lua_generator.hpp>
#include <luahammer/opvm/vm_host.hpp>
#include <luahammer/core/random_bytes.hpp>

namespace luahammer {

double GeneratorStats::compile_percent() const {
  return programs > 0 ? 100.0 * static_cast<double>(compiled) / static_cast<double>(programs) : 0.0;
}

double GeneratorStats::runtime_error_percent() const {
  return 100.0 * static_cast<double>(runtime_errors) / static_cast<double>(compiled > 0 ? compiled : 1);
}

GeneratorStats measure_generated_programs(long count, std::uint64_t seed, std::size_t memory_cap, long collect_every) {
  GeneratorStats stats;
  std::mt19937_64 rng(seed);
  VmState vm = make_vm_state(false, memory_cap, 2000000);
  for (long i = 0; i < count; ++i) {
    const std::vector<std::uint8_t> bytes = random_bytes(rng, 64 + rng() % 512);
    const std::string source = generate_lua_program(bytes.data(), bytes.size());
    ++stats.programs;
    cxxlua::Function chunk;
    try {
      chunk = vm.state->load(source, "=generated");
      ++stats.compiled;
    } catch (const cxxlua::Error& e) {
      if (stats.first_failure.empty()) stats.first_failure = std::string(e.what()) + "\n" + source;
      continue;
    }
    reset_budget(vm);
    try {
      (void)chunk.call();
    } catch (const cxxlua::Error& e) {
      if (std::string(e.what()).find("instruction budget exhausted") != std::string::npos) {
        ++stats.past_bound;
        if (stats.first_failure.empty()) stats.first_failure = source;
      } else {
        ++stats.runtime_errors;
      }
    }
    if (i % collect_every == 0) vm.state->collect_garbage();
  }
  return stats;
}

}  // namespace luahammer
