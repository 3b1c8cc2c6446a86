// Generator report: over N random inputs (default 10,000), the share of generated
// programs that compile, that raise a runtime error, and that run past their bound.
// usage: generator_report [N] [seed]
#include <cstdio>
#include <cstdlib>
#include <string>

#include <luahammer/opvm/generator_stats.hpp>

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  const unsigned long long seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  if (count <= 0) {
    std::fprintf(stderr, "generator_report: N must be a positive number, got '%s'\n", argv[1]);
    return 2;
  }
  const luahammer::GeneratorStats stats = luahammer::measure_generated_programs(count, seed, 64 * 1024 * 1024, 200);
  std::printf(
      "generator: %ld programs (seed %llu): %.2f%% compile, %.2f%% of those raise a runtime error, %ld run past their "
      "bound\n",
      count, seed, stats.compile_percent(), stats.runtime_error_percent(), stats.past_bound);
  return stats.compiled * 100 >= count * 99 && stats.past_bound == 0 ? 0 : 1;
}
