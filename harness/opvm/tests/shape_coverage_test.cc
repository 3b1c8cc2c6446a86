// Shape coverage: the cells an op's call reaches are marked once per input, the outcome of
// each call is its own cell, nothing is recorded while it is off, and the report's totals
// agree with the cells.
#include <luahammer/opvm/shape_coverage.hpp>

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include <gtest/gtest.h>

#include <cxxlua/error.hpp>
#include <luahammer/opvm/binding_chaos.hpp>
#include <luahammer/opvm/op_vm.hpp>
#include <luahammer/opvm/vm_host.hpp>

#include "make_op.hpp"

namespace luahammer {
namespace {

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
  const ShapeEntry call = ShapeEntry::FunctionCallValues;  // call_function and call_many_args
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::ArgKind, kKindString), 2);
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::ArgKind, kKindNil), 2);
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::ArgCount, shape_count_bucket(2)), 2);
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::ResultCount, shape_count_bucket(2)), 2);
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::Outcome, kOutcomeOk), 2);
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::ArgCount, 3), 2);  // exactly 20
  EXPECT_EQ(shape_cell_inputs(call, ShapeDim::ArgCount, 4), 0);
  // The stored function's state was closed: its call's outcome is "state closed".
  const int closed = 1 + static_cast<int>(cxxlua::ErrorKind::StateClosed);
  EXPECT_EQ(shape_cell_inputs(ShapeEntry::FunctionCall, ShapeDim::Outcome, closed), 2);
  EXPECT_EQ(shape_cell_inputs(ShapeEntry::FunctionCall, ShapeDim::Outcome, kOutcomeOk), 0);
  // Not a cell of the table: a dimension the row does not have, an outcome it does not list.
  EXPECT_EQ(shape_cell_inputs(ShapeEntry::FunctionCall, ShapeDim::ArgKind, kKindNil), -1);
  EXPECT_EQ(shape_cell_inputs(ShapeEntry::ValueCopy, ShapeDim::Outcome, closed), -1);
  // An op that calls no entry point of the table has no row.
  EXPECT_FALSE(shape_entry_of(make_op(OpCode::CreateState)).has_value());
}

// How many inputs marked `context` for a host function, after running `source` on a fresh
// VM state (as one input), closing it at the end.
long host_context_after(const char* source, int context, bool hooked = false,
                        ShapeEntry entry = ShapeEntry::HostFunction) {
  VmState vm = make_vm_state(false, 0, 0);
  if (hooked) {
    // A hook that collects garbage at its first count event: finalizers run below it.
    HookPlan plan;
    plan.triggers.every_nth_instruction = 1;
    plan.repeat_every = 1;
    plan.action = HookPlan::Action::CollectGarbage;
    set_hook_plan(*vm.state, plan);
  }
  try {
    (void)vm.state->exec(source, "=input");
  } catch (const cxxlua::Error&) {
    // a host function may raise; its context is marked first
  }
  check_and_close(vm, "shape context test");
  end_shape_input();
  return shape_cell_inputs(entry, ShapeDim::Context, context);
}

TEST_F(ShapeCoverage, AHostFunctionMarksWhereLuaCalledItFrom) {
  EXPECT_EQ(host_context_after("host.echo(1)", kContextMainThread), 1);
  EXPECT_EQ(host_context_after("host.echo(1)", kContextCoroutine), 0);
  EXPECT_EQ(host_context_after("coroutine.wrap(function() host.echo(1) end)()", kContextCoroutine), 1);
  // (The finalized table is made in a function that returned: a register of the running
  // function would keep it alive until the state closes.)
  EXPECT_EQ(host_context_after("local function make() setmetatable({}, {__gc = function() host.echo(1) end}) end "
                               "make() collectgarbage()",
                               kContextGc),
            1);
  EXPECT_EQ(host_context_after("do local c <close> = setmetatable({}, {__close = function() host.echo(1) end}) end",
                               kContextClose),
            1);
  EXPECT_EQ(host_context_after("kept = setmetatable({}, {__gc = function() host.echo(1) end})", kContextClosing), 1);
  EXPECT_EQ(host_context_after("local function make() setmetatable({}, {__gc = function() host.echo(1) end}) end "
                               "for i = 1, 3 do make() end",
                               kContextHook, true),
            1);
  EXPECT_EQ(host_context_after("host.echo(1)", kContextHook), 1);  // still the one input above
}

// How many inputs marked `suspension` for Thread::resume_values, after a coroutine over
// snippet `snippet` is resumed (up to 8 times, collecting between), with a hook plan that
// yields every 5 instructions set on it if `hooked`.
long resume_suspension_after(std::uint32_t snippet, bool hooked, int suspension) {
  reset_shapes();
  OpProgram program;
  Op hook = make_op(OpCode::ThreadHook, 1);
  hook.hook.triggers.every_nth_instruction = 5;
  hook.hook.repeat_every = 1;
  hook.hook.action = HookPlan::Action::Yield;
  program.ops = {make_op(OpCode::CreateState), make_op(OpCode::LoadSnippet, 0, 0, snippet),
                 make_op(OpCode::CreateCoroutine, 0, 1)};
  if (hooked) program.ops.push_back(hook);
  program.ops.push_back(make_op(OpCode::ResumeCoroutine, 1, 2, 7));  // up to 8 resumes, collecting
  run_program(program);
  end_shape_input();
  return shape_cell_inputs(ShapeEntry::ThreadResume, ShapeDim::Suspension, suspension);
}

TEST_F(ShapeCoverage, AResumeMarksWhetherAHookSuspendedTheCoroutine) {
  // hook_yield_self_check (23): a loop of 40 steps, with no yield of its own.
  EXPECT_EQ(resume_suspension_after(23, false, kSuspensionReturned), 1);
  EXPECT_EQ(resume_suspension_after(23, false, kSuspensionHookYielded), 0);
  EXPECT_EQ(resume_suspension_after(23, true, kSuspensionHookYielded), 1);
  EXPECT_EQ(resume_suspension_after(23, true, kSuspensionFromHook), 1);
  EXPECT_EQ(resume_suspension_after(23, true, kSuspensionYielded), 0);
  // host_yield (12): the coroutine suspends in a host function that yields, not in Lua code.
  EXPECT_EQ(resume_suspension_after(12, false, kSuspensionYielded), 1);
  EXPECT_EQ(resume_suspension_after(12, false, kSuspensionHookYielded), 0);
  EXPECT_EQ(resume_suspension_after(12, false, kSuspensionFromHook), 0);
}

// How many inputs marked `registration` for StateHandle::create_userdata, after two
// Probes are made in a fresh state, the first one after `fail_soon` with operand `n`
// (n < 0: no failure planned). A single failure (n < 8) is mostly absorbed: Lua collects
// and tries the allocation again.
long creation_registration_after(int n, int registration) {
  reset_shapes();
  OpProgram program;
  program.ops = {make_op(OpCode::CreateState)};
  if (n >= 0) program.ops.push_back(make_op(OpCode::FailSoon, 0, 0, static_cast<std::uint32_t>(n)));
  program.ops.push_back(make_op(OpCode::CreateUserdata, 1, 0, 7));
  program.ops.push_back(make_op(OpCode::ClearFailPlan));
  program.ops.push_back(make_op(OpCode::CreateUserdata, 2, 0, 8));
  run_program(program);
  end_shape_input();
  return shape_cell_inputs(ShapeEntry::CreateUserdata, ShapeDim::Registration, registration);
}

TEST_F(ShapeCoverage, ACreationMarksWhetherItRegisteredTheType) {
  // No failure: the first creation registers Probe, the second finds it registered.
  EXPECT_EQ(creation_registration_after(-1, kRegistrationByCall), 1);
  EXPECT_EQ(creation_registration_after(-1, kRegistrationDone), 1);
  EXPECT_EQ(creation_registration_after(-1, kRegistrationFailed), 0);
  // Every allocation of the first creation fails (8: from the first one on): it fails
  // before Probe is registered; the second creation (the plan cleared) registers it.
  EXPECT_EQ(creation_registration_after(8, kRegistrationFailed), 1);
  EXPECT_EQ(creation_registration_after(8, kRegistrationByCall), 1);
  EXPECT_EQ(creation_registration_after(8, kRegistrationDone), 0);
}

// The cells at the end of chains of ops that random programs and grown seeds rarely line
// up: reached here on purpose, each with the outcome its contract names.
TEST_F(ShapeCoverage, CallsBackIntoTheBindingFromFinalizersAHookRunsAreBelowTheHook) {
  // finalizers_left_for_later (44): its finalizers call host.call_stored and host.close;
  // the hook collects at every instruction, so they run below it.
  const char* source =
      "local function make() setmetatable({}, {__gc = function() "
      "host.call_stored(host.store(function() return 1 end)) host.close(coroutine.create(print)) "
      "end}) end make() make() local s = 0 for i = 1, 8 do s = s + i end return s";
  EXPECT_EQ(host_context_after(source, kContextHook, true, ShapeEntry::CallFromHost), 1);
  EXPECT_EQ(host_context_after(source, kContextHook, true, ShapeEntry::CloseFromHost), 2);  // both inputs
}

TEST_F(ShapeCoverage, ClosingACoroutineSuspendedInAFailingCloseRaisesItsError) {
  // suspended_in_failing_close (45) hands the driver a coroutine suspended in a scope whose
  // __close raises; closing it raises that error (the chain below adds allocation failure).
  OpProgram program;
  program.ops = {make_op(OpCode::CreateState), make_op(OpCode::LoadSnippet, 0, 0, 45),
                 make_op(OpCode::CallFunction, 0, 1, 0), make_op(OpCode::CloseCoroutine, 1)};
  run_program(program);
  end_shape_input();
  const auto inputs = [](cxxlua::ErrorKind kind) {
    return shape_cell_inputs(ShapeEntry::ThreadClose, ShapeDim::Outcome, 1 + static_cast<int>(kind));
  };
  EXPECT_EQ(inputs(cxxlua::ErrorKind::Runtime), 1);
  EXPECT_EQ(inputs(cxxlua::ErrorKind::Memory), 0);
}

// Each chain reaches the cells it is for, and with its outcome: a memory error closing
// under allocation failure, a wrong-state error for a value crossing states.
TEST_F(ShapeCoverage, EachChainReachesTheCellsItIsFor) {
  for (const ShapeChain& chain : shape_chains()) {
    reset_shapes();
    run_program(chain.program);
    end_shape_input();
    for (const ShapeCell& cell : chain.cells)
      EXPECT_EQ(shape_cell_inputs(cell.entry, cell.dim, cell.value), 1) << chain.name;
  }
}

TEST_F(ShapeCoverage, TableAnyKeyReachesEveryKeyKindOfSetRawSetAndGet) {
  // Slot 1 holds each kind in turn (create_scalar), slot 0 a table; n % 3 picks the call.
  for (std::uint32_t kind : {0u, 1u, 2u, 3u, 4u, 5u}) {
    OpProgram program;
    program.ops = {make_op(OpCode::CreateState), make_op(OpCode::CreateTable, 0),
                   make_op(OpCode::CreateScalar, 1, 0, kind)};
    for (std::uint32_t n : {0u, 1u, 2u}) program.ops.push_back(make_op(OpCode::TableAnyKey, 0, 1, n));
    run_program(program);
    end_shape_input();
  }
  for (ShapeEntry entry : {ShapeEntry::TableSet, ShapeEntry::TableRawSet, ShapeEntry::TableGet}) {
    for (int kind : {kKindBoolean, kKindFloat, kKindInteger, kKindLightUserdata, kKindNil, kKindStringWithZero})
      EXPECT_GT(shape_cell_inputs(entry, ShapeDim::KeyKind, kind), 0) << shape_entry_name(entry) << " key " << kind;
  }
  // A nil or NaN key cannot be set: Lua's error, caught as a runtime error.
  EXPECT_GT(
      shape_cell_inputs(ShapeEntry::TableSet, ShapeDim::Outcome, 1 + static_cast<int>(cxxlua::ErrorKind::Runtime)), 0);
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
  EXPECT_NE(report.find("\n  Function::call_values\n"), std::string::npos) << report;
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
// An op that calls the entry point, and the ops that make the handles it needs.
std::vector<Op> call_of(ShapeEntry entry) {
  const Op function = make_op(OpCode::CreateHostFunction, 0, 0, 2);
  const Op table = make_op(OpCode::CreateTable, 0);
  const Op userdata = make_op(OpCode::CreateUserdata, 1, 0, 2);
  const Op coroutine = make_op(OpCode::CreateCoroutine, 0, 3);
  switch (entry) {
    case ShapeEntry::FunctionCallValues: return {function, make_op(OpCode::CallFunction, 0, 1, 1)};
    case ShapeEntry::FunctionCall: return {function, make_op(OpCode::StoreFunction, 0), make_op(OpCode::CallStored)};
    case ShapeEntry::ThreadResume: return {function, coroutine, make_op(OpCode::ResumeCoroutine, 3, 1)};
    case ShapeEntry::TableSet: return {table, make_op(OpCode::SetField, 0, 1, 1)};
    case ShapeEntry::TableRawSet: return {table, make_op(OpCode::RawSetField, 0, 1, 1)};
    case ShapeEntry::TableGet: return {table, make_op(OpCode::GetField, 0, 1, 1)};
    case ShapeEntry::UserdataStore: return {function, userdata, make_op(OpCode::StoreInUserdata, 1, 0)};
    case ShapeEntry::UserdataBorrow: return {userdata, make_op(OpCode::BorrowUserdata, 1, 0, 1)};
    case ShapeEntry::UserdataTake: return {userdata, make_op(OpCode::TakeUserdata, 1)};
    case ShapeEntry::UserdataDestroy: return {userdata, make_op(OpCode::DestroyUserdata, 1)};
    case ShapeEntry::CreateThread: return {function, coroutine};
    case ShapeEntry::ThreadClose: return {function, coroutine, make_op(OpCode::CloseCoroutine, 3)};
    case ShapeEntry::ThreadReset: return {function, coroutine, make_op(OpCode::ResetCoroutine, 3, 0)};
    case ShapeEntry::ThreadSetHook: return {function, coroutine, make_op(OpCode::ThreadHook, 3, 0, 0)};
    case ShapeEntry::AsyncStart: return {function, make_op(OpCode::StartAsync, 0)};
    case ShapeEntry::AsyncPoll: return {function, make_op(OpCode::StartAsync, 0), make_op(OpCode::PollAsync)};
    case ShapeEntry::AsyncBlockOn: return {function, make_op(OpCode::StartAsync, 0), make_op(OpCode::BlockOn, 0, 1)};
    case ShapeEntry::CreateTable: return {table};
    case ShapeEntry::CreateString: return {make_op(OpCode::CreateString, 1, 0, 5)};
    case ShapeEntry::CreateFunction: return {function};
    case ShapeEntry::Load: return {make_op(OpCode::LoadSnippet, 0, 0, 0)};
    case ShapeEntry::CreateUserdata: return {userdata};
    default: return {};
  }
}

int outcome_of(cxxlua::ErrorKind kind) { return 1 + static_cast<int>(kind); }

// One input: a state, the ops that make the handles `entry`'s call needs, then `before`
// (closing the state, arming allocation failure), then the call.
void run_call_after(ShapeEntry entry, const Op& before) {
  const std::vector<Op> ops = call_of(entry);
  ASSERT_FALSE(ops.empty()) << shape_entry_name(entry) << ": no op calls it here (add one to call_of)";
  OpProgram program;
  program.ops.push_back(make_op(OpCode::CreateState));
  program.ops.insert(program.ops.end(), ops.begin(), ops.end() - 1);
  program.ops.push_back(before);
  program.ops.push_back(ops.back());
  run_program(program);
  end_shape_input();
}

// No outcome of the row's but those `allowed` was reached.
void expect_only_outcomes(ShapeEntry entry, std::initializer_list<int> allowed) {
  for (int outcome = 0; outcome < kOutcomeCount; ++outcome)
    if (std::find(allowed.begin(), allowed.end(), outcome) == allowed.end())
      EXPECT_LE(shape_cell_inputs(entry, ShapeDim::Outcome, outcome), 0) << shape_entry_name(entry) << " " << outcome;
}

// The rows of the driver's own calls that list `kind` as an outcome (a host function's
// calls are not made by an op: neither closing the state under them nor arming a failure
// just before them can be written as a program).
std::vector<ShapeEntry> driver_rows_listing(cxxlua::ErrorKind kind) {
  std::vector<ShapeEntry> out;
  for (ShapeEntry entry : shape_entries())
    if (shape_cell_inputs(entry, ShapeDim::Outcome, outcome_of(kind)) >= 0 && !shape_ops_of(entry).empty())
      out.push_back(entry);
  return out;
}

std::string row_test_name(const ::testing::TestParamInfo<ShapeEntry>& info) {
  std::string name = shape_entry_name(info.param);
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

class AfterClose : public ShapeCoverage, public ::testing::WithParamInterface<ShapeEntry> {};

TEST_P(AfterClose, AHandleOfAClosedStateRaisesStateClosed) {
  const ShapeEntry entry = GetParam();
  // The handles are made, the state closed, then the entry point called.
  ASSERT_NO_FATAL_FAILURE(run_call_after(entry, make_op(OpCode::CloseState)));
  const int closed = outcome_of(cxxlua::ErrorKind::StateClosed);
  EXPECT_EQ(shape_cell_inputs(entry, ShapeDim::Outcome, closed), 1) << shape_entry_name(entry);
  expect_only_outcomes(entry, {closed});
}

INSTANTIATE_TEST_SUITE_P(ShapeTable, AfterClose,
                         ::testing::ValuesIn(driver_rows_listing(cxxlua::ErrorKind::StateClosed)), row_test_name);

// Tests from the table: every entry point of the driver's calls whose row lists "memory
// error", called with every allocation failing from its first, either needs no allocation
// (it returns) or raises exactly that: no other kind, no crash, no leak the ledgers see
// (run_program checks them at the end). The ones that allocate whatever the handles (they
// make a value, load, start or resume a coroutine) must raise it.
class UnderAllocationFailure : public ShapeCoverage, public ::testing::WithParamInterface<ShapeEntry> {};

bool allocates_always(ShapeEntry entry) {
  switch (entry) {
    case ShapeEntry::CreateTable:
    case ShapeEntry::CreateString:
    case ShapeEntry::CreateFunction:
    case ShapeEntry::Load:
    case ShapeEntry::CreateUserdata:
    case ShapeEntry::CreateThread:
    case ShapeEntry::ThreadResume:
    case ShapeEntry::AsyncStart:
    case ShapeEntry::AsyncPoll:
    case ShapeEntry::AsyncBlockOn: return true;
    default: return false;
  }
}

TEST_P(UnderAllocationFailure, TheCallReturnsOrRaisesAMemoryError) {
  const ShapeEntry entry = GetParam();
  // The first allocation and every one after it fail.
  ASSERT_NO_FATAL_FAILURE(run_call_after(entry, make_op(OpCode::FailSoon, 0, 0, 8)));
  const int memory = outcome_of(cxxlua::ErrorKind::Memory);
  const long raised = shape_cell_inputs(entry, ShapeDim::Outcome, memory);
  const long returned = shape_cell_inputs(entry, ShapeDim::Outcome, kOutcomeOk);
  EXPECT_EQ(raised + returned, 1) << shape_entry_name(entry);
  if (allocates_always(entry)) EXPECT_EQ(raised, 1) << shape_entry_name(entry);
  expect_only_outcomes(entry, {kOutcomeOk, memory});
}

INSTANTIATE_TEST_SUITE_P(ShapeTable, UnderAllocationFailure,
                         ::testing::ValuesIn(driver_rows_listing(cxxlua::ErrorKind::Memory)), row_test_name);

}  // namespace
}  // namespace luahammer
