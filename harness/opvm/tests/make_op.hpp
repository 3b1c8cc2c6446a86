// One op of a hand-written program, for the op VM's tests.
#pragma once

#include <cstdint>

#include <luahammer/opvm/op_vm.hpp>

namespace luahammer {

inline Op make_op(OpCode code, std::uint8_t a = 0, std::uint8_t b = 0, std::uint32_t n = 0) {
  Op o;
  o.code = code;
  o.a = a;
  o.b = b;
  o.n = n;
  return o;
}

}  // namespace luahammer
