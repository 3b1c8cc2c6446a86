// Claim: adding an op never changes what an existing input means.
//  - A recorded input (testdata/recorded-program, written once by this test's generator
//    with the ops of the day) still decodes to its recorded explanation. If this fails, a
//    row of ops.def or of the snippet table was renumbered or changed meaning: restore it.
//  - Simulated addition: every op in turn is treated as "not yet added" (left out of the
//    menu, as a record of an unknown code is skipped); the program decoded without it is
//    the program decoded with it, minus its records.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include <luahammer/opvm/op_vm.hpp>

namespace luahammer {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string testdata(const char* name) { return std::string(LUAHAMMER_OPVM_TESTDATA) + "/" + name; }

ProgramOptions recorded_options() {
  ProgramOptions options;
  options.max_ops = 200;
  options.max_states = 3;
  return options;
}

TEST(DecodeStability, ARecordedInputDecodesAsItWasRecorded) {
  const std::string bytes = read_file(testdata("recorded-program"));
  const std::string recorded = read_file(testdata("recorded-program.explain"));
  ASSERT_FALSE(bytes.empty()) << "missing " << testdata("recorded-program");
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  EXPECT_EQ(OpProgram::decode(data, bytes.size(), recorded_options()).explain(), recorded);
}

TEST(DecodeStability, AddingAnOpLeavesEveryOtherRecordAsItWas) {
  std::mt19937_64 rng(16);
  const std::vector<std::uint8_t> bytes = random_program(rng, recorded_options(), 4000);
  const OpProgram with = OpProgram::decode(bytes.data(), bytes.size(), recorded_options());
  for (const OpInfo& added : all_op_infos()) {
    ProgramOptions before = recorded_options();
    for (const OpInfo& info : all_op_infos()) {
      if (&info != &added) before.menu.push_back(info.code);
    }
    OpProgram expected = with;
    std::erase_if(expected.ops, [&](const Op& op) { return op.code == added.code; });
    EXPECT_EQ(OpProgram::decode(bytes.data(), bytes.size(), before).explain(), expected.explain()) << added.name;
  }
}

// Writes the recorded input afresh: LUAHAMMER_RECORD_PROGRAM=1 (only when the format itself
// changes on purpose, with the reason in the commit). LUAHAMMER_RECORD_PROGRAM=explain keeps
// the recorded bytes and rewrites only their explanation: for a snippet given a free code,
// whose records explained as "no snippet has code N" now name it (check the diff says so).
TEST(DecodeStability, RecordOnRequest) {
  const char* mode = std::getenv("LUAHAMMER_RECORD_PROGRAM");
  if (mode == nullptr) GTEST_SKIP() << "set LUAHAMMER_RECORD_PROGRAM=1 (or =explain) to record";
  std::vector<std::uint8_t> bytes;
  if (std::string(mode) == "explain") {
    const std::string recorded = read_file(testdata("recorded-program"));
    bytes.assign(recorded.begin(), recorded.end());
  } else {
    std::mt19937_64 rng(20261130);
    bytes = random_program(rng, recorded_options(), 6000);
    std::ofstream(testdata("recorded-program"), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  ASSERT_FALSE(bytes.empty());
  std::ofstream(testdata("recorded-program.explain"), std::ios::binary)
      << OpProgram::decode(bytes.data(), bytes.size(), recorded_options()).explain();
}

}  // namespace
}  // namespace luahammer
