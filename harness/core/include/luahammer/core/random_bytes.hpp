// Random inputs from a seeded generator, the way tests, benchmarks, drivers and tools feed
// the decoders: `size` bytes, one draw of the generator each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace luahammer {

inline std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

}  // namespace luahammer
