// Shape coverage (issue 21): which cells of the shape table (shapes.def) the op VM's calls
// into cxxlua reached, counted per input. Ops mark cells as they call; the fuzz target ends
// each input with end_shape_input(); a replay with --shapes prints shape_report().
// Marking is lock-free (worker threads of shared-state targets mark too).
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <luahammer/opvm/op_vm.hpp>

namespace cxxlua {
class Value;
}

namespace luahammer {

// The rows of the shape table (shapes.def).
enum class ShapeEntry : unsigned {
#define LUAHAMMER_SHAPE_ROW(Entry, api, dimensions, outcomes) Entry,
#include <luahammer/opvm/shapes.def>
#undef LUAHAMMER_SHAPE_ROW
};

enum class ShapeDim : unsigned { ArgKind, ArgCount, ResultCount, KeyKind, ValueKind, Target, Outcome, Count };

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
inline constexpr int kCountBuckets = 6;  // 0, 1, 2-19, 20, 21-40, 41+
inline constexpr int kOutcomeOk = 0;     // then 1 + each cxxlua::ErrorKind, then a foreign exception
inline constexpr int kOutcomeCount = 14;

int shape_kind_of(const cxxlua::Value& value);
int shape_count_bucket(std::size_t count);
// The outcome of a call that threw `error` (null: returned normally).
int shape_outcome_of(const std::exception* error);

// Off by default (fuzzing pays nothing for it): a replay with --shapes, and tests, turn it on.
void enable_shapes(bool on);
bool shapes_enabled();
// The entry point an op calls (table_any_key: set, raw_set or get, by its operand), if the
// table has a row for it.
std::optional<ShapeEntry> shape_entry_of(const Op& op);
const char* shape_entry_name(ShapeEntry entry);
// Marks a cell for the current input (nothing if shapes are off, the op calls no entry of
// the table, or the row lacks the dimension or value).
void note_shape(ShapeEntry entry, ShapeDim dim, int value);
void note_shape(const Op& op, ShapeDim dim, int value);
// Folds the current input's cells into the totals (each cell counts once per input).
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

}  // namespace luahammer
