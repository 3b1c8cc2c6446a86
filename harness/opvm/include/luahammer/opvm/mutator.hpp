// A structure-aware mutator for op-program inputs (libFuzzer's LLVMFuzzerCustomMutator and
// LLVMFuzzerCustomCrossOver call these). It works on whole records of the wire format
// (docs/op-programs.md): inserts a fresh record of an op in the target's menu, deletes,
// duplicates, moves or swaps records, changes a record's op, and hands a single record's
// payload or the header to libFuzzer's own byte mutator, so the framing survives and a
// mutation changes one op, not every op after it. Now and then it lets the byte mutator
// loose on the whole input, as libFuzzer would without it.
#pragma once

#include <cstddef>
#include <cstdint>

#include <luahammer/opvm/op_vm.hpp>

namespace luahammer {

// The byte mutator (LLVMFuzzerMutate in a fuzzer; tests pass their own).
using ByteMutator = std::size_t (*)(std::uint8_t* data, std::size_t size, std::size_t max_size);

// Mutates data[0, size) in place into at most max_size bytes; returns the new size.
std::size_t mutate_program(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed,
                           const ProgramOptions& options, ByteMutator mutate_bytes);

// Records of one input up to a point, then records of the other: into out (max_size).
std::size_t cross_over_programs(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b, std::size_t b_size,
                                std::uint8_t* out, std::size_t max_size, unsigned seed);

}  // namespace luahammer
