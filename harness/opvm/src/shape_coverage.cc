// Shape coverage: the shape table's cells (shapes.def) reached, per input.
#include <luahammer/opvm/shape_coverage.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include <cxxlua/error.hpp>
#include <cxxlua/value.hpp>

namespace luahammer {
namespace {

// The dimension flags and outcome bits the table's rows are written with.
namespace table {
constexpr unsigned ArgKinds = 1u << static_cast<unsigned>(ShapeDim::ArgKind);
constexpr unsigned ArgCounts = 1u << static_cast<unsigned>(ShapeDim::ArgCount);
constexpr unsigned ResultCounts = 1u << static_cast<unsigned>(ShapeDim::ResultCount);
constexpr unsigned KeyKinds = 1u << static_cast<unsigned>(ShapeDim::KeyKind);
constexpr unsigned ValueKinds = 1u << static_cast<unsigned>(ShapeDim::ValueKind);
constexpr unsigned Targets = 1u << static_cast<unsigned>(ShapeDim::Target);
constexpr unsigned outcome(cxxlua::ErrorKind kind) { return 1u << (1 + static_cast<unsigned>(kind)); }
constexpr unsigned Ok = 1u << kOutcomeOk;
constexpr unsigned Runtime = outcome(cxxlua::ErrorKind::Runtime);
[[maybe_unused]] constexpr unsigned Syntax = outcome(cxxlua::ErrorKind::Syntax);
constexpr unsigned Memory = outcome(cxxlua::ErrorKind::Memory);
constexpr unsigned Callback = outcome(cxxlua::ErrorKind::Callback);
constexpr unsigned StateClosed = outcome(cxxlua::ErrorKind::StateClosed);
[[maybe_unused]] constexpr unsigned Borrow = outcome(cxxlua::ErrorKind::Borrow);
[[maybe_unused]] constexpr unsigned Destructed = outcome(cxxlua::ErrorKind::Destructed);
constexpr unsigned Conversion = outcome(cxxlua::ErrorKind::Conversion);
constexpr unsigned StackOverflow = outcome(cxxlua::ErrorKind::StackOverflow);
constexpr unsigned Coroutine = outcome(cxxlua::ErrorKind::Coroutine);
constexpr unsigned WrongState = outcome(cxxlua::ErrorKind::WrongState);
[[maybe_unused]] constexpr unsigned Thread = outcome(cxxlua::ErrorKind::Thread);
constexpr unsigned StdException = 1u << (kOutcomeCount - 1);

struct Row {
  ShapeEntry entry;
  const char* api;
  unsigned dimensions;
  unsigned outcomes;
};
constexpr Row kRows[] = {
#define LUAHAMMER_SHAPE_ROW(Entry, api, dimensions, outcomes) {ShapeEntry::Entry, api, dimensions, outcomes},
#include <luahammer/opvm/shapes.def>
#undef LUAHAMMER_SHAPE_ROW
};
}  // namespace table

constexpr std::size_t kRowCount = std::size(table::kRows);
constexpr unsigned kDims = static_cast<unsigned>(ShapeDim::Count);
constexpr int kMaxValues = 16;

const char* const kKindNames[kKindCount] = {
    "nil",   "boolean",  "integer", "float",   "light userdata", "string", "string with a zero byte",
    "table", "function", "thread",  "userdata"};
const char* const kBucketNames[kCountBuckets] = {"0", "1", "2-19", "20 (LUA_MINSTACK)", "21-40", "41 or more"};
const char* const kTargetNames[kTargetCount] = {"a slot holding no handle", "a live handle of the same state",
                                                "a live handle of another state", "a handle of a closed state"};
const char* const kDimNames[kDims] = {"argument", "arguments", "results", "key", "value", "onto", "outcome"};

int values_of(ShapeDim dim) {
  switch (dim) {
    case ShapeDim::ArgKind:
    case ShapeDim::KeyKind:
    case ShapeDim::ValueKind: return kKindCount;
    case ShapeDim::ArgCount:
    case ShapeDim::ResultCount: return kCountBuckets;
    case ShapeDim::Target: return kTargetCount;
    case ShapeDim::Outcome: return kOutcomeCount;
    case ShapeDim::Count: break;
  }
  return 0;
}

std::string value_name(ShapeDim dim, int value) {
  switch (dim) {
    case ShapeDim::ArgKind:
    case ShapeDim::KeyKind:
    case ShapeDim::ValueKind: return kKindNames[value];
    case ShapeDim::ArgCount:
    case ShapeDim::ResultCount: return kBucketNames[value];
    case ShapeDim::Target: return kTargetNames[value];
    case ShapeDim::Outcome:
      if (value == kOutcomeOk) return "returned";
      if (value == kOutcomeCount - 1) return "a C++ exception of another type";
      return std::string("cxxlua::Error ") + cxxlua::to_string(static_cast<cxxlua::ErrorKind>(value - 1));
    case ShapeDim::Count: break;
  }
  return "?";
}

bool meaningful(std::size_t row, ShapeDim dim, int value) {
  const table::Row& r = table::kRows[row];
  if (dim == ShapeDim::Outcome) return (r.outcomes & (1u << value)) != 0;
  return (r.dimensions & (1u << static_cast<unsigned>(dim))) != 0 && value < values_of(dim);
}

std::size_t row_of(ShapeEntry entry) { return static_cast<std::size_t>(entry); }

std::array<std::array<std::array<std::atomic<bool>, kMaxValues>, kDims>, kRowCount> current{};
std::array<std::array<std::array<std::atomic<long>, kMaxValues>, kDims>, kRowCount> inputs{};
std::atomic<long> input_count{0};
std::atomic<bool> enabled{false};

}  // namespace

int shape_kind_of(const cxxlua::Value& value) {
  switch (value.type()) {
    case cxxlua::Type::Nil: return kKindNil;
    case cxxlua::Type::Boolean: return kKindBoolean;
    case cxxlua::Type::Integer: return kKindInteger;
    case cxxlua::Type::Number: return kKindFloat;
    case cxxlua::Type::LightUserData: return kKindLightUserdata;
    case cxxlua::Type::String: {
      const cxxlua::String* s = value.get_if<cxxlua::String>();
      try {
        if (s != nullptr && s->to_std_string().find('\0') != std::string::npos) return kKindStringWithZero;
      } catch (const cxxlua::Error&) {
        // its state is closed: still a string
      }
      return kKindString;
    }
    case cxxlua::Type::Table: return kKindTable;
    case cxxlua::Type::Function: return kKindFunction;
    case cxxlua::Type::Thread: return kKindThread;
    case cxxlua::Type::UserData: return kKindUserdata;
  }
  return kKindNil;
}

int shape_count_bucket(std::size_t count) {
  if (count <= 1) return static_cast<int>(count);
  if (count < 20) return 2;
  if (count == 20) return 3;
  return count <= 40 ? 4 : 5;
}

int shape_outcome_of(const std::exception* error) {
  if (error == nullptr) return kOutcomeOk;
  if (const auto* e = dynamic_cast<const cxxlua::Error*>(error)) return 1 + static_cast<int>(e->kind());
  return kOutcomeCount - 1;
}

void enable_shapes(bool on) { enabled = on; }
bool shapes_enabled() { return enabled.load(std::memory_order_relaxed); }

std::optional<ShapeEntry> shape_entry_of(const Op& op) {
  switch (op.code) {
    case OpCode::CallFunction:
    case OpCode::CallManyArgs: return ShapeEntry::FunctionCallValues;
    case OpCode::CallStored: return ShapeEntry::FunctionCall;
    case OpCode::ResumeCoroutine: return ShapeEntry::ThreadResume;
    case OpCode::SetField: return ShapeEntry::TableSet;
    case OpCode::RawSetField: return ShapeEntry::TableRawSet;
    case OpCode::GetField: return ShapeEntry::TableGet;
    case OpCode::TableAnyKey:
      return op.n % 3 == 0 ? ShapeEntry::TableSet : op.n % 3 == 1 ? ShapeEntry::TableRawSet : ShapeEntry::TableGet;
    case OpCode::CopyHandle: return ShapeEntry::ValueCopy;
    case OpCode::MoveHandle: return ShapeEntry::ValueMove;
    default: return std::nullopt;
  }
}

const char* shape_entry_name(ShapeEntry entry) { return table::kRows[row_of(entry)].api; }

void note_shape(ShapeEntry entry, ShapeDim dim, int value) {
  if (!shapes_enabled()) return;
  const std::size_t row = row_of(entry);
  if (row >= kRowCount || value < 0 || value >= kMaxValues || !meaningful(row, dim, value)) return;
  current[row][static_cast<unsigned>(dim)][static_cast<std::size_t>(value)].store(true, std::memory_order_relaxed);
}

void note_shape(const Op& op, ShapeDim dim, int value) {
  if (!shapes_enabled()) return;
  if (const auto entry = shape_entry_of(op)) note_shape(*entry, dim, value);
}

void end_shape_input() {
  if (!shapes_enabled()) return;
  input_count.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t r = 0; r < kRowCount; ++r)
    for (unsigned d = 0; d < kDims; ++d)
      for (int v = 0; v < kMaxValues; ++v)
        if (current[r][d][static_cast<std::size_t>(v)].exchange(false, std::memory_order_relaxed))
          inputs[r][d][static_cast<std::size_t>(v)].fetch_add(1, std::memory_order_relaxed);
}

ShapeTotals shape_totals() {
  ShapeTotals totals;
  totals.inputs = input_count.load();
  for (std::size_t r = 0; r < kRowCount; ++r) {
    for (unsigned d = 0; d < kDims; ++d) {
      const auto dim = static_cast<ShapeDim>(d);
      for (int v = 0; v < values_of(dim); ++v) {
        ++totals.cells;
        if (!meaningful(r, dim, v)) continue;
        ++totals.meaningful;
        if (inputs[r][d][static_cast<std::size_t>(v)].load() > 0) ++totals.reached;
      }
    }
  }
  return totals;
}

std::vector<std::string> shape_cells_reached() {
  std::vector<std::string> out;
  for (std::size_t r = 0; r < kRowCount; ++r)
    for (unsigned d = 0; d < kDims; ++d)
      for (int v = 0; v < values_of(static_cast<ShapeDim>(d)); ++v)
        if (meaningful(r, static_cast<ShapeDim>(d), v) && inputs[r][d][static_cast<std::size_t>(v)].load() > 0)
          out.push_back(std::string(table::kRows[r].api) + " " + kDimNames[d] + " " +
                        value_name(static_cast<ShapeDim>(d), v));
  return out;
}

std::vector<ShapeEntry> shape_entries() {
  std::vector<ShapeEntry> out;
  for (const auto& row : table::kRows) out.push_back(row.entry);
  return out;
}

long shape_cell_inputs(ShapeEntry entry, ShapeDim dim, int value) {
  const std::size_t row = row_of(entry);
  if (row >= kRowCount || value < 0 || value >= kMaxValues || !meaningful(row, dim, value)) return -1;
  return inputs[row][static_cast<unsigned>(dim)][static_cast<std::size_t>(value)].load();
}

std::string shape_report() {
  std::string out = "shape coverage (cells of the shape table, harness/opvm/include/luahammer/opvm/shapes.def):\n";
  for (std::size_t r = 0; r < kRowCount; ++r) {
    out += std::string("  ") + table::kRows[r].api + "\n";
    for (unsigned d = 0; d < kDims; ++d) {
      const auto dim = static_cast<ShapeDim>(d);
      for (int v = 0; v < values_of(dim); ++v) {
        if (!meaningful(r, dim, v)) continue;
        const long n = inputs[r][d][static_cast<std::size_t>(v)].load();
        char line[160];
        std::snprintf(line, sizeof line, "    %-8s %-40s %s\n", kDimNames[d], value_name(dim, v).c_str(),
                      n > 0 ? (std::to_string(n) + " input(s)").c_str() : "never reached");
        out += line;
      }
    }
  }
  const ShapeTotals t = shape_totals();
  out += "shape cells: " + std::to_string(t.cells) + " in the table's rows, " + std::to_string(t.meaningful) +
         " meaningful, " + std::to_string(t.reached) + " reached by " + std::to_string(t.inputs) + " input(s)\n";
  return out;
}

std::string shape_tsv() {
  std::string out;
  for (std::size_t r = 0; r < kRowCount; ++r) {
    for (unsigned d = 0; d < kDims; ++d) {
      const auto dim = static_cast<ShapeDim>(d);
      for (int v = 0; v < values_of(dim); ++v) {
        if (!meaningful(r, dim, v)) continue;
        out += std::string(table::kRows[r].api) + "\t" + kDimNames[d] + "\t" + value_name(dim, v) + "\t" +
               std::to_string(inputs[r][d][static_cast<std::size_t>(v)].load()) + "\n";
      }
    }
  }
  return out;
}

void reset_shapes() {
  input_count = 0;
  for (auto& row : current)
    for (auto& dim : row)
      for (auto& cell : dim) cell = false;
  for (auto& row : inputs)
    for (auto& dim : row)
      for (auto& cell : dim) cell = 0;
}

}  // namespace luahammer
