// What every fuzz target shares: an op-program target is a spec (which ops, which
// budgets) plus two lines. Each target defines LLVMFuzzerTestOneInput (and nothing else
// libFuzzer-specific), so AFL++ and the OSS-Fuzz engines link it too, and
// luahammer_fuzz_explain for the replay binary's --explain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <luahammer/opvm/mutator.hpp>
#include <luahammer/opvm/op_vm.hpp>
#include <luahammer/opvm/shape_coverage.hpp>
#include <luahammer/core/oracles.hpp>

namespace luahammer::fuzz {

struct TargetSpec {
  ProgramOptions program;
  RunOptions run;
};

// The spec of each op-program target (target_specs.cc), shared with make_seeds.
TargetSpec spec_for(const std::string& name);
const std::vector<std::string>& op_target_names();

int run_op_target(const TargetSpec& spec, const std::uint8_t* data, std::size_t size);
// Under libFuzzer (`fuzzing`), the shape table's cells become extra coverage counters, so
// the fuzzer keeps inputs reaching cells not seen yet (shape_coverage.hpp);
// LUAHAMMER_SHAPE_FEEDBACK=0 turns that off (to measure it side by side).
void start_shape_feedback(bool fuzzing);
std::string explain_op_target(const TargetSpec& spec, const std::uint8_t* data, std::size_t size);

}  // namespace luahammer::fuzz

// Text for --explain: what the input decodes to.
std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size);
// For the replay's --shapes: shape coverage on, then the report (op-program targets only).
void luahammer_fuzz_enable_shapes();
std::string luahammer_fuzz_shape_report();
std::string luahammer_fuzz_shape_tsv();

// libFuzzer's byte mutator; weak, so the replay binaries (no libFuzzer) link without it
// (they never mutate).
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size)
    __attribute__((weak));

#define LUAHAMMER_OP_FUZZ_TARGET(spec_function)                                                                      \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                                                               \
    luahammer::install_terminate_handler();                                                                          \
    luahammer::fuzz::start_shape_feedback(&LLVMFuzzerMutate != nullptr);                                             \
    return 0;                                                                                                        \
  }                                                                                                                  \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {                                \
    static const luahammer::fuzz::TargetSpec spec = spec_function();                                                 \
    return luahammer::fuzz::run_op_target(spec, data, size);                                                         \
  }                                                                                                                  \
  std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size) {                                   \
    return luahammer::fuzz::explain_op_target(spec_function(), data, size);                                          \
  }                                                                                                                  \
  void luahammer_fuzz_enable_shapes() { luahammer::enable_shapes(true); }                                            \
  std::string luahammer_fuzz_shape_report() { return luahammer::shape_report(); }                                    \
  std::string luahammer_fuzz_shape_tsv() { return luahammer::shape_tsv(); }                                          \
  extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,         \
                                                 unsigned seed) {                                                    \
    static const luahammer::fuzz::TargetSpec spec = spec_function();                                                 \
    return luahammer::mutate_program(data, size, max_size, seed, spec.program, &LLVMFuzzerMutate);                   \
  }                                                                                                                  \
  extern "C" std::size_t LLVMFuzzerCustomCrossOver(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b, \
                                                   std::size_t b_size, std::uint8_t* out, std::size_t max_size,      \
                                                   unsigned seed) {                                                  \
    return luahammer::cross_over_programs(a, a_size, b, b_size, out, max_size, seed);                                \
  }
