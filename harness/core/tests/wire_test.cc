// Claim: the op-program byte reader reads what the writer wrote, value for value, over
// every range width; an exhausted input reads as zeros; an empty range reads no byte.
#include <gtest/gtest.h>

#include <random>

#include <luahammer/core/wire.hpp>

namespace luahammer {
namespace {

TEST(Wire, WriterAndReaderRoundTripInEveryRange) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t min = rng() % 1000;
    const std::uint64_t width = rng() >> (rng() % 64);
    const std::uint64_t max = width > UINT64_MAX - min ? UINT64_MAX : min + width;
    const std::uint64_t value = min + (max == min ? 0 : rng() % (max - min + 1));
    ByteWriter out;
    out.put_in_range<std::uint64_t>(value, min, max);
    out.put<std::int16_t>(-1234);
    out.put_bool(true);
    ByteReader in(out.bytes.data(), out.bytes.size());
    ASSERT_EQ(in.ConsumeIntegralInRange<std::uint64_t>(min, max), value) << min << ".." << max;
    EXPECT_EQ(in.ConsumeIntegral<std::int16_t>(), -1234);
    EXPECT_TRUE(in.ConsumeBool());
    EXPECT_EQ(in.remaining_bytes(), 0u);
  }
}

TEST(Wire, AnExhaustedInputReadsAsZerosAndAnEmptyRangeReadsNothing) {
  const std::uint8_t one = 7;
  ByteReader in(&one, 1);
  EXPECT_EQ(in.ConsumeIntegralInRange<int>(5, 5), 5);
  EXPECT_EQ(in.remaining_bytes(), 1u);
  EXPECT_EQ(in.ConsumeIntegralInRange<int>(10, 20), 10 + 7 % 11);
  EXPECT_EQ(in.ConsumeIntegral<std::uint32_t>(), 0u);
  EXPECT_FALSE(in.ConsumeBool());
  EXPECT_TRUE(in.ConsumeBytes(4).empty());
}

}  // namespace
}  // namespace luahammer
