// Shape coverage: the cells an op's call reaches are marked once per input, the outcome of
// each call is its own cell, nothing is recorded while it is off, and the report's totals
// agree with the cells.
#include <luahammer/opvm/shape_coverage.hpp>

#include <gtest/gtest.h>

#include <cxxlua/error.hpp>
#include <luahammer/opvm/op_vm.hpp>

namespace luahammer {
namespace {

Op make_op(OpCode code, std::uint8_t a = 0, std::uint8_t b = 0, std::uint32_t n = 0) {
  Op o;
  o.code = code;
  o.a = a;
  o.b = b;
  o.n = n;
  return o;
}

// A host function that returns its arguments (variant 2) called with a 5-byte string and
// nil, then with 20 arguments (LUA_MINSTACK); a stored function called after its state closed.
OpProgram calls_program() {
  OpProgram program;
  program.ops = {make_op(OpCode::CreateState),
                 make_op(OpCode::CreateHostFunction, 0, 0, 2),
                 make_op(OpCode::CreateString, 1, 0, 5),
                 make_op(OpCode::CallFunction, 0, 1, 2),
                 make_op(OpCode::CallManyArgs, 0, 1, 1),
                 make_op(OpCode::StoreFunction, 0),
                 make_op(OpCode::CloseState),
                 make_op(OpCode::CallStored)};
  return program;
}

class ShapeCoverage : public ::testing::Test {
 protected:
  void SetUp() override {
    reset_shapes();
    enable_shapes(true);
  }
  void TearDown() override {
    enable_shapes(false);
    reset_shapes();
  }
};

TEST_F(ShapeCoverage, ACallMarksItsArgumentsTheirCountItsResultsAndItsOutcome) {
  for (int input = 0; input < 2; ++input) {
    run_program(calls_program());
    end_shape_input();
  }
  EXPECT_EQ(shape_cell_inputs(OpCode::CallFunction, ShapeDim::ArgKind, kKindString), 2);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallFunction, ShapeDim::ArgKind, kKindNil), 2);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallFunction, ShapeDim::ArgCount, shape_count_bucket(2)), 2);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallFunction, ShapeDim::ResultCount, shape_count_bucket(2)), 2);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallFunction, ShapeDim::Outcome, kOutcomeOk), 2);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallManyArgs, ShapeDim::ArgCount, 3), 2);  // exactly 20
  EXPECT_EQ(shape_cell_inputs(OpCode::CallManyArgs, ShapeDim::ArgCount, 4), 0);
  // The stored function's state was closed: its call's outcome is "state closed".
  const int closed = 1 + static_cast<int>(cxxlua::ErrorKind::StateClosed);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallStored, ShapeDim::Outcome, closed), 2);
  EXPECT_EQ(shape_cell_inputs(OpCode::CallStored, ShapeDim::Outcome, kOutcomeOk), 0);
  // Not a cell of the table: a dimension the row does not have, an outcome it does not list.
  EXPECT_EQ(shape_cell_inputs(OpCode::CallStored, ShapeDim::ArgKind, kKindNil), -1);
  EXPECT_EQ(shape_cell_inputs(OpCode::CreateState, ShapeDim::Outcome, kOutcomeOk), -1);
}

TEST_F(ShapeCoverage, TheReportCountsTheCellsItListsAndNamesTheOnesNeverReached) {
  run_program(calls_program());
  end_shape_input();
  const ShapeTotals totals = shape_totals();
  EXPECT_EQ(totals.inputs, 1);
  EXPECT_GT(totals.reached, 5);
  EXPECT_LT(totals.reached, totals.meaningful);
  EXPECT_LT(totals.meaningful, totals.cells);
  const std::string report = shape_report();
  EXPECT_NE(report.find("call_many_args (Function::call_values, many arguments)"), std::string::npos) << report;
  EXPECT_NE(report.find("never reached"), std::string::npos);
  EXPECT_NE(report.find(std::to_string(totals.reached) + " reached by 1 input(s)"), std::string::npos) << report;
  // One line per meaningful cell under the rows.
  long lines = 0;
  for (std::size_t at = report.find("\n    "); at != std::string::npos; at = report.find("\n    ", at + 1)) ++lines;
  EXPECT_EQ(lines, totals.meaningful);
}

TEST_F(ShapeCoverage, NothingIsRecordedWhileItIsOff) {
  enable_shapes(false);
  run_program(calls_program());
  end_shape_input();
  EXPECT_EQ(shape_totals().reached, 0);
  EXPECT_EQ(shape_totals().inputs, 0);
}

// Tests from the table: every entry point whose row lists "state closed" as an outcome,
// called on a handle whose state was closed, raises exactly that (and nothing else, no
// crash, no other error kind): the handle outlived its state, the binding must notice.
std::vector<Op> handles_for(OpCode op) {
  switch (op) {
    case OpCode::CallFunction:
    case OpCode::CallManyArgs: return {make_op(OpCode::CreateHostFunction, 0, 0, 2)};
    case OpCode::CallStored: return {make_op(OpCode::CreateHostFunction, 0, 0, 2), make_op(OpCode::StoreFunction, 0)};
    case OpCode::ResumeCoroutine:
      return {make_op(OpCode::CreateHostFunction, 0, 0, 2), make_op(OpCode::CreateCoroutine, 0, 3)};
    case OpCode::SetField:
    case OpCode::RawSetField:
    case OpCode::GetField:
    case OpCode::TableAnyKey: return {make_op(OpCode::CreateTable, 0)};
    default: return {};
  }
}

class AfterClose : public ShapeCoverage, public ::testing::WithParamInterface<OpCode> {};

TEST_P(AfterClose, AHandleOfAClosedStateRaisesStateClosed) {
  const OpCode op = GetParam();
  const std::vector<Op> setup = handles_for(op);
  ASSERT_FALSE(setup.empty()) << op_name(op) << ": no handles to make for this row (add them to handles_for)";
  OpProgram program;
  program.ops.push_back(make_op(OpCode::CreateState));
  program.ops.insert(program.ops.end(), setup.begin(), setup.end());
  program.ops.push_back(make_op(OpCode::CloseState));
  program.ops.push_back(make_op(op, 0, 1, 1));
  run_program(program);
  end_shape_input();
  const int closed = 1 + static_cast<int>(cxxlua::ErrorKind::StateClosed);
  EXPECT_EQ(shape_cell_inputs(op, ShapeDim::Outcome, closed), 1) << op_name(op);
  for (int outcome = 0; outcome < kOutcomeCount; ++outcome)
    if (outcome != closed)
      EXPECT_LE(shape_cell_inputs(op, ShapeDim::Outcome, outcome), 0) << op_name(op) << " " << outcome;
}

std::vector<OpCode> rows_listing_state_closed() {
  std::vector<OpCode> out;
  const int closed = 1 + static_cast<int>(cxxlua::ErrorKind::StateClosed);
  for (OpCode op : shape_row_ops())
    if (shape_cell_inputs(op, ShapeDim::Outcome, closed) >= 0) out.push_back(op);
  return out;
}

INSTANTIATE_TEST_SUITE_P(ShapeTable, AfterClose, ::testing::ValuesIn(rows_listing_state_closed()),
                         [](const ::testing::TestParamInfo<OpCode>& info) { return std::string(op_name(info.param)); });

}  // namespace
}  // namespace luahammer
