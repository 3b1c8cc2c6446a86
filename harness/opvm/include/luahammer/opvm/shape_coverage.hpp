// Shape coverage (issue 21): which cells of the shape table (shapes.def) the op VM's calls
// into cxxlua reached. Ops, host functions and hook callbacks mark cells as they call.
// Two uses:
// - counting (a replay with --shapes, make_seeds, tests): the fuzz target ends each input
//   with end_shape_input(), which adds its cells to the totals; shape_report() prints them;
// - feedback (fuzzing): the cells are libFuzzer extra counters (the __libfuzzer_extra_counters
//   section), so an input reaching a cell no corpus input reached is kept like new edge
//   coverage, and the fuzzer's draw leans towards the cells not yet seen.
// Marking is lock-free (worker threads of shared-state targets mark too).
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <luahammer/opvm/op_vm.hpp>

namespace cxxlua {
class StateHandle;
class Thread;
class Value;
using MultiValue = std::vector<Value>;
}  // namespace cxxlua

namespace luahammer {

// The rows of the shape table (shapes.def).
enum class ShapeEntry : unsigned {
#define LUAHAMMER_SHAPE_ROW(Entry, ...) Entry,
#include <luahammer/opvm/shapes.def>
#undef LUAHAMMER_SHAPE_ROW
};

enum class ShapeDim : unsigned {
  ArgKind,
  ArgCount,
  ResultCount,
  KeyKind,
  ValueKind,
  Target,
  Context,
  Outcome,
  Suspension,
  Registration,
  Count
};

// Value kinds, count buckets, assignment targets and outcomes: the values of each dimension.
enum ShapeKind : int {
  kKindNil,
  kKindBoolean,
  kKindInteger,
  kKindFloat,
  kKindLightUserdata,
  kKindString,
  kKindStringWithZero,
  kKindTable,
  kKindFunction,
  kKindThread,
  kKindUserdata,
  kKindCount
};
enum ShapeTarget : int { kTargetNoHandle, kTargetSameState, kTargetOtherState, kTargetClosedState, kTargetCount };
// Where a call into the binding is made from (more than one may hold: a host function
// called by a finalizer inside a coroutine is both kContextGc and kContextCoroutine).
enum ShapeContext : int {
  kContextMainThread,  // from Lua, the main thread running
  kContextCoroutine,   // from Lua, a coroutine running
  kContextHook,        // below a call a hook made
  kContextGc,          // below a __gc metamethod
  kContextClose,       // below a __close metamethod
  kContextClosing,     // while lua_close runs the last finalizers
  kContextCount
};
// How a resume of a coroutine ended, and whether it resumed one a hook had suspended
// (mlua #723: the live registers of a coroutine a hook suspends lie above its top).
enum ShapeSuspension : int {
  kSuspensionReturned,     // the coroutine finished
  kSuspensionYielded,      // suspended by coroutine.yield or a host function's yield
  kSuspensionHookYielded,  // suspended by a hook's yield, in the middle of a Lua function
  kSuspensionFromHook,     // the resume continued a coroutine a hook had suspended
  kSuspensionCount
};
// Whether the call registered the userdata type it needed (mlua 4e92ea3, rlua 37165a8: a
// binding that registers a type's metatable lazily, on its first use in a state, has a
// path no later call takes, and a failure inside it is a failure in the middle of making
// the object).
enum ShapeRegistration : int {
  kRegistrationDone,    // the type was registered before the call
  kRegistrationByCall,  // the call registered it
  kRegistrationFailed,  // the type was not registered and still is not: the call failed first
  kRegistrationCount
};
inline constexpr int kCountBuckets = 6;  // 0, 1, 2-19, 20, 21-40, 41+
inline constexpr int kOutcomeOk = 0;     // then 1 + each cxxlua::ErrorKind, then a foreign exception
inline constexpr int kOutcomeCount = 14;
inline constexpr int kOutcomeOther = kOutcomeCount - 1;  // a C++ exception of another type

int shape_kind_of(const cxxlua::Value& value);
int shape_count_bucket(std::size_t count);
// The outcome of a call that threw `error` (null: returned normally).
int shape_outcome_of(const std::exception* error);

// Off by default. enable_shapes(true): counting (a replay with --shapes, tests);
// enable_shape_feedback(): marking only, for the fuzzing engine to read and clear.
void enable_shapes(bool on);
void enable_shape_feedback();
bool shapes_enabled();
// The entry point an op calls (table_any_key: set, raw_set or get, by its operand), if the
// table has a row for it.
std::optional<ShapeEntry> shape_entry_of(const Op& op);
const char* shape_entry_name(ShapeEntry entry);
// The ops whose execution calls the entry point (none for the rows marked from inside Lua).
std::vector<OpCode> shape_ops_of(ShapeEntry entry);
// Marks a cell for the current input (nothing if shapes are off, the op calls no entry of
// the table, or the row lacks the dimension or value).
void note_shape(ShapeEntry entry, ShapeDim dim, int value);
void note_shape(const Op& op, ShapeDim dim, int value);
// Marks every context the running call into `state` is made from (Lua's stack says which).
void note_calling_context(ShapeEntry entry, const cxxlua::StateHandle& state);
// How `thread` stands after a resume (kSuspensionReturned, Yielded or HookYielded), or
// kSuspensionCount if it cannot be told (not suspended, its state refused the look).
int shape_suspension_of(const cxxlua::Thread& thread);
// Marks the kind of each value, and how many.
void note_arguments(ShapeEntry entry, const cxxlua::MultiValue& values);
void note_arguments(ShapeEntry entry, std::span<const cxxlua::Value* const> values);
// Runs a call into the binding from inside Lua (a host function's body) and marks the
// row's outcome: returned, or the exception that left it (rethrown).
template <class Body>
decltype(auto) with_outcome(ShapeEntry entry, Body&& body) {
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      note_shape(entry, ShapeDim::Outcome, kOutcomeOk);
    } else {
      auto result = body();
      note_shape(entry, ShapeDim::Outcome, kOutcomeOk);
      return result;
    }
  } catch (const std::exception& e) {
    note_shape(entry, ShapeDim::Outcome, shape_outcome_of(&e));
    throw;
  } catch (...) {
    note_shape(entry, ShapeDim::Outcome, kOutcomeOther);  // of no standard type
    throw;
  }
}
// Folds the current input's cells into the totals (each cell counts once per input;
// counting mode only: in feedback mode the fuzzing engine reads and clears them).
void end_shape_input();

struct ShapeTotals {
  int cells = 0;       // every (row, dimension, value) of the table's rows
  int meaningful = 0;  // the row's own dimensions and outcomes
  int reached = 0;     // meaningful cells reached by at least one input
  long inputs = 0;
};
ShapeTotals shape_totals();
// The meaningful cells reached so far, each as "<op> <dimension> <value>".
std::vector<std::string> shape_cells_reached();
// The table's rows, in its order.
std::vector<ShapeEntry> shape_entries();
// How many inputs reached one cell; -1 if the cell is not a meaningful one of the table.
long shape_cell_inputs(ShapeEntry entry, ShapeDim dim, int value);
// Per row, each meaningful cell with the number of inputs that reached it, and a summary.
std::string shape_report();
// The same cells as lines "<op>\t<dimension>\t<value>\t<inputs>\n", for summing runs
// (ci/coverage.sh adds the replays of every op target and batch).
std::string shape_tsv();
void reset_shapes();

// Programs for the cells at the end of chains of ops that random programs and grown seeds
// rarely line up (a hook that collects while finalizers call back into the binding, a
// coroutine closed under allocation failure, a Probe holding another state's function):
// make_seeds keeps each as a seed of the targets where it reaches a new cell; the tests
// run each and check it reaches its cells. Each starts with a hook plan (the targets with
// a leading plan read op 1 as one).
struct ShapeCell {
  ShapeEntry entry;
  ShapeDim dim;
  int value;
};
struct ShapeChain {
  const char* name;
  OpProgram program;
  std::vector<ShapeCell> cells;  // what it is for
};
std::vector<ShapeChain> shape_chains();

}  // namespace luahammer
