// Claim: the structure-aware mutator keeps the wire format's framing (a record-level
// mutation leaves every byte a record, no garbage tail), stays within max_size, is
// deterministic per seed, only inserts ops of the target's menu, and does change inputs;
// the cross-over splices whole records of both parents.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include <luahammer/opvm/mutator.hpp>

namespace luahammer {
namespace {

// A stand-in for libFuzzer's byte mutator: flips a byte (or appends one).
std::size_t flip_a_byte(std::uint8_t* data, std::size_t size, std::size_t max_size) {
  static std::mt19937 rng(1);
  if (size == 0 || (size < max_size && rng() % 4 == 0)) {
    data[size] = static_cast<std::uint8_t>(rng());
    return size + 1;
  }
  data[rng() % size] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
  return size;
}

// Every byte after the header belongs to a whole record.
bool framed(const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) return true;
  std::size_t at = 1 + bytes[0];
  while (at + 2 <= bytes.size()) at += 2 + bytes[at + 1];
  return at == bytes.size();
}

TEST(Mutator, KeepsFramingStaysInBoundsAndIsDeterministic) {
  ProgramOptions options;
  options.menu = {OpCode::CreateTable, OpCode::SetField, OpCode::GcCollect, OpCode::SetHookPlan};
  std::mt19937_64 rng(7);
  int changed = 0;
  int framed_after = 0;
  for (unsigned seed = 0; seed < 3000; ++seed) {
    std::vector<std::uint8_t> input = random_program(rng, options, 300);
    const std::size_t max_size = input.size() + 64;
    std::vector<std::uint8_t> a(input);
    a.resize(max_size);
    const std::size_t na = mutate_program(a.data(), input.size(), max_size, seed, options, &flip_a_byte);
    a.resize(na);
    ASSERT_LE(na, max_size);
    changed += a != input ? 1 : 0;
    framed_after += framed(a) ? 1 : 0;
    const OpProgram program = OpProgram::decode(a.data(), a.size(), options);
    for (const Op& op : program.ops) {
      ASSERT_NE(std::find(options.menu.begin(), options.menu.end(), op.code), options.menu.end());
    }
  }
  EXPECT_GT(changed, 2700) << "most mutations must change the input";
  // Only the whole-input byte mutation (two draws in 32) may break the framing.
  EXPECT_GT(framed_after, 2600);
  // The same seed, the same mutation (with a byte mutator that is itself deterministic).
  const std::vector<std::uint8_t> input = random_program(rng, options, 300);
  std::vector<std::uint8_t> x;
  std::vector<std::uint8_t> y;
  auto bump = [](std::uint8_t* data, std::size_t size, std::size_t) -> std::size_t {
    if (size > 0) ++data[0];
    return size;
  };
  for (unsigned seed = 0; seed < 64; ++seed) {
    x.assign(input.begin(), input.end());
    y.assign(input.begin(), input.end());
    x.resize(input.size() + 64);
    y.resize(input.size() + 64);
    x.resize(mutate_program(x.data(), input.size(), x.size(), seed, options, bump));
    y.resize(mutate_program(y.data(), input.size(), y.size(), seed, options, bump));
    EXPECT_EQ(x, y) << "seed " << seed;
  }
}

TEST(Mutator, InsertedRecordsAreMenuOps) {
  ProgramOptions options;
  options.menu = {OpCode::GcStep};
  std::set<OpCode> seen;
  int inserted = 0;
  for (unsigned seed = 0; seed < 500; ++seed) {
    std::vector<std::uint8_t> bytes = {0};
    bytes.resize(512);
    const std::size_t n = mutate_program(bytes.data(), 1, bytes.size(), seed, options, &flip_a_byte);
    bytes.resize(n);
    // An empty program grows by a whole fresh record (or, byte-wise, by a stray byte).
    if (n < 3 || !framed(bytes)) continue;
    ++inserted;
    for (const Op& op : OpProgram::decode(bytes.data(), bytes.size()).ops) seen.insert(op.code);
  }
  EXPECT_GT(inserted, 50);
  EXPECT_EQ(seen, std::set<OpCode>{OpCode::GcStep});
}

TEST(Mutator, CrossOverSplicesWholeRecordsOfBothParents) {
  ProgramOptions tables;
  tables.menu = {OpCode::CreateTable};
  ProgramOptions collects;
  collects.menu = {OpCode::GcCollect};
  std::mt19937_64 rng(8);
  const auto a = random_program(rng, tables, 200);
  const auto b = random_program(rng, collects, 200);
  bool both = false;
  for (unsigned seed = 0; seed < 100 && !both; ++seed) {
    std::vector<std::uint8_t> out(400);
    out.resize(cross_over_programs(a.data(), a.size(), b.data(), b.size(), out.data(), out.size(), seed));
    ASSERT_TRUE(framed(out));
    std::set<OpCode> codes;
    for (const Op& op : OpProgram::decode(out.data(), out.size()).ops) codes.insert(op.code);
    both = codes.count(OpCode::CreateTable) == 1 && codes.count(OpCode::GcCollect) == 1;
  }
  EXPECT_TRUE(both);
}

}  // namespace
}  // namespace luahammer
