// Measures the Lua program generator: runs N generated programs (from a seed) in a
// sandboxed VM state and counts how many compile, raise a runtime error, or run past their
// instruction budget. Shared by the generator's test and bench/generator_report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace luahammer {

struct GeneratorStats {
  long programs = 0;
  long compiled = 0;
  long runtime_errors = 0;
  long past_bound = 0;
  std::string first_failure;  // the first program that did not compile or ran past its bound
  double compile_percent() const;
  double runtime_error_percent() const;  // of the compiled ones
};

GeneratorStats measure_generated_programs(long count, std::uint64_t seed, std::size_t memory_cap, long collect_every);

}  // namespace luahammer
