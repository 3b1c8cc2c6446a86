#include "fuzz_target.hpp"

#include <luahammer/opvm/shape_coverage.hpp>

#include <luahammer/core/input_guard.hpp>

namespace luahammer::fuzz {

int run_op_target(const TargetSpec& spec, const std::uint8_t* data, std::size_t size) {
  const InputGuard guard;
  const OpProgram program = OpProgram::decode(data, size, spec.program);
  (void)run_program(program, spec.run);
  end_shape_input();
  return 0;
}

std::string explain_op_target(const TargetSpec& spec, const std::uint8_t* data, std::size_t size) {
  return OpProgram::decode(data, size, spec.program).explain();
}

}  // namespace luahammer::fuzz
