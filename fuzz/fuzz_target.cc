#include "fuzz_target.hpp"

#include <cstdlib>
#include <cstring>

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

void start_shape_feedback(bool fuzzing) {
  const char* setting = std::getenv("LUAHAMMER_SHAPE_FEEDBACK");
  if (fuzzing && (setting == nullptr || std::strcmp(setting, "0") != 0)) enable_shape_feedback();
}

std::string explain_op_target(const TargetSpec& spec, const std::uint8_t* data, std::size_t size) {
  return OpProgram::decode(data, size, spec.program).explain();
}

}  // namespace luahammer::fuzz
