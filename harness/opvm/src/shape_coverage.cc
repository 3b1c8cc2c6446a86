// Shape coverage: the shape table's cells (shapes.def) reached, per input.
#include <luahammer/opvm/shape_coverage.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <cxxlua/error.hpp>
#include <cxxlua/testing.hpp>
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
constexpr unsigned Suspensions = 1u << static_cast<unsigned>(ShapeDim::Suspension);
constexpr unsigned Registrations = 1u << static_cast<unsigned>(ShapeDim::Registration);
constexpr unsigned InMainThread = 1u << kContextMainThread;
constexpr unsigned InCoroutine = 1u << kContextCoroutine;
constexpr unsigned InHook = 1u << kContextHook;
constexpr unsigned InGc = 1u << kContextGc;
constexpr unsigned InClose = 1u << kContextClose;
constexpr unsigned WhileClosing = 1u << kContextClosing;
constexpr unsigned outcome(cxxlua::ErrorKind kind) { return 1u << (1 + static_cast<unsigned>(kind)); }
constexpr unsigned Ok = 1u << kOutcomeOk;
constexpr unsigned Runtime = outcome(cxxlua::ErrorKind::Runtime);
constexpr unsigned Syntax = outcome(cxxlua::ErrorKind::Syntax);
constexpr unsigned Memory = outcome(cxxlua::ErrorKind::Memory);
constexpr unsigned Callback = outcome(cxxlua::ErrorKind::Callback);
constexpr unsigned StateClosed = outcome(cxxlua::ErrorKind::StateClosed);
constexpr unsigned Borrow = outcome(cxxlua::ErrorKind::Borrow);
constexpr unsigned Destructed = outcome(cxxlua::ErrorKind::Destructed);
constexpr unsigned Conversion = outcome(cxxlua::ErrorKind::Conversion);
constexpr unsigned StackOverflow = outcome(cxxlua::ErrorKind::StackOverflow);
constexpr unsigned Coroutine = outcome(cxxlua::ErrorKind::Coroutine);
constexpr unsigned WrongState = outcome(cxxlua::ErrorKind::WrongState);
constexpr unsigned Thread = outcome(cxxlua::ErrorKind::Thread);
constexpr unsigned StdException = 1u << kOutcomeOther;

constexpr unsigned kMaxOps = 4;
struct Row {
  ShapeEntry entry;
  const char* api;
  unsigned dimensions;
  unsigned contexts;
  unsigned outcomes;
  std::array<int, kMaxOps> ops;  // OpCode values; -1 past the last
};
template <class... Codes>
constexpr std::array<int, kMaxOps> ops_of(Codes... codes) {
  static_assert(sizeof...(codes) <= kMaxOps, "a shape row lists at most kMaxOps ops");
  std::array<int, kMaxOps> out{-1, -1, -1, -1};
  std::size_t i = 0;
  ((out[i++] = static_cast<int>(codes)), ...);
  return out;
}
using enum OpCode;
constexpr Row kRows[] = {
#define LUAHAMMER_SHAPE_ROW(Entry, api, dimensions, contexts, outcomes, ...)                  \
  {                                                                                           \
      ShapeEntry::Entry,                                                                      \
      api,                                                                                    \
      (dimensions) | ((contexts) != 0 ? 1u << static_cast<unsigned>(ShapeDim::Context) : 0u), \
      contexts,                                                                               \
      outcomes,                                                                               \
      ops_of(__VA_ARGS__)},
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
const char* const kContextNames[kContextCount] = {
    "from Lua on the main thread", "from Lua in a coroutine", "below a hook", "below a __gc", "below a __close",
    "while the state closes"};
const char* const kSuspensionNames[kSuspensionCount] = {"finished", "yielded", "suspended by a hook's yield",
                                                        "resumed after a hook's yield"};
const char* const kRegistrationNames[kRegistrationCount] = {"the type registered before", "registers the type",
                                                            "failed before the type was registered"};
const char* const kDimNames[kDims] = {"argument", "arguments", "results", "key",       "value",
                                      "onto",     "context",   "outcome", "coroutine", "type"};

int values_of(ShapeDim dim) {
  switch (dim) {
    case ShapeDim::ArgKind:
    case ShapeDim::KeyKind:
    case ShapeDim::ValueKind: return kKindCount;
    case ShapeDim::ArgCount:
    case ShapeDim::ResultCount: return kCountBuckets;
    case ShapeDim::Target: return kTargetCount;
    case ShapeDim::Context: return kContextCount;
    case ShapeDim::Outcome: return kOutcomeCount;
    case ShapeDim::Suspension: return kSuspensionCount;
    case ShapeDim::Registration: return kRegistrationCount;
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
    case ShapeDim::Context: return kContextNames[value];
    case ShapeDim::Outcome:
      if (value == kOutcomeOk) return "returned";
      if (value == kOutcomeOther) return "a C++ exception of another type";
      return std::string("cxxlua::Error ") + cxxlua::to_string(static_cast<cxxlua::ErrorKind>(value - 1));
    case ShapeDim::Suspension: return kSuspensionNames[value];
    case ShapeDim::Registration: return kRegistrationNames[value];
    case ShapeDim::Count: break;
  }
  return "?";
}

bool meaningful(std::size_t row, ShapeDim dim, int value) {
  const table::Row& r = table::kRows[row];
  if (dim == ShapeDim::Outcome) return (r.outcomes & (1u << value)) != 0;
  if (dim == ShapeDim::Context) return (r.contexts & (1u << value)) != 0;
  return (r.dimensions & (1u << static_cast<unsigned>(dim))) != 0 && value < values_of(dim);
}

std::size_t row_of(ShapeEntry entry) { return static_cast<std::size_t>(entry); }

// The current input's cells: libFuzzer's extra counters when the target is built with it
// (it clears them before each input and reads them after), a plain array otherwise.
// One byte per cell, set with relaxed atomic stores.
__attribute__((used, section("__libfuzzer_extra_counters"))) std::uint8_t current[kRowCount][kDims][kMaxValues];
std::array<std::array<std::array<std::atomic<long>, kMaxValues>, kDims>, kRowCount> inputs{};
std::atomic<long> input_count{0};
enum Mode : int { kOff, kCounting, kFeedback };
std::atomic<int> mode{kOff};

// The row each op's execution marks (-1: none); table_any_key lists three rows.
constexpr std::array<int, 256> op_rows() {
  std::array<int, 256> out{};
  for (int& row : out) row = -1;
  for (std::size_t r = 0; r < kRowCount; ++r)
    for (int code : table::kRows[r].ops)
      if (code >= 0 && out[static_cast<std::size_t>(code)] < 0)
        out[static_cast<std::size_t>(code)] = static_cast<int>(r);
  return out;
}
constexpr std::array<int, 256> kOpRows = op_rows();

// The rows listing an op, in the table's order.
std::vector<std::size_t> rows_listing(OpCode code) {
  std::vector<std::size_t> out;
  for (std::size_t r = 0; r < kRowCount; ++r)
    for (int c : table::kRows[r].ops)
      if (c == static_cast<int>(code)) out.push_back(r);
  return out;
}

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
  return kOutcomeOther;
}

void enable_shapes(bool on) { mode = on ? kCounting : kOff; }
void enable_shape_feedback() { mode = kFeedback; }
bool shapes_enabled() { return mode.load(std::memory_order_relaxed) != kOff; }

std::optional<ShapeEntry> shape_entry_of(const Op& op) {
  const int row = kOpRows[static_cast<std::size_t>(op.code) & 0xff];
  if (row < 0) return std::nullopt;
  if (op.code == OpCode::TableAnyKey) {
    // Its operand picks set, raw_set or get: the first, second or third row listing it.
    static const std::vector<std::size_t> rows = rows_listing(OpCode::TableAnyKey);
    return table::kRows[rows[op.n % rows.size()]].entry;
  }
  return table::kRows[row].entry;
}

const char* shape_entry_name(ShapeEntry entry) { return table::kRows[row_of(entry)].api; }

std::vector<OpCode> shape_ops_of(ShapeEntry entry) {
  std::vector<OpCode> out;
  for (int code : table::kRows[row_of(entry)].ops)
    if (code >= 0) out.push_back(static_cast<OpCode>(code));
  return out;
}

void note_shape(ShapeEntry entry, ShapeDim dim, int value) {
  if (!shapes_enabled()) return;
  const std::size_t row = row_of(entry);
  if (row >= kRowCount || value < 0 || value >= kMaxValues || !meaningful(row, dim, value)) return;
  __atomic_store_n(&current[row][static_cast<unsigned>(dim)][value], std::uint8_t{1}, __ATOMIC_RELAXED);
}

void note_shape(const Op& op, ShapeDim dim, int value) {
  if (!shapes_enabled()) return;
  if (const auto entry = shape_entry_of(op)) note_shape(*entry, dim, value);
}

namespace {

// The contexts the frames on a thread's stack say it runs in. Lua names a function by how
// its caller called it: "hook" for a call a hook made (the caller's frame is hooked),
// "__gc" for a finalizer, "close" for a to-be-closed variable's metamethod (Lua 5.4.4 and
// later). A finalizer that a hook's collection runs is named "hook": Lua checks that first.
unsigned contexts_on_stack(lua_State* thread) {
  unsigned seen = 0;
  lua_Debug ar;
  for (int level = 0; lua_getstack(thread, level, &ar) != 0; ++level) {
    if (lua_getinfo(thread, "n", &ar) == 0 || ar.namewhat == nullptr) continue;
    if (std::strcmp(ar.namewhat, "hook") == 0) seen |= 1u << kContextHook;
    if (std::strcmp(ar.namewhat, "metamethod") == 0 && ar.name != nullptr) {
      const char* name = std::strncmp(ar.name, "__", 2) == 0 ? ar.name + 2 : ar.name;
      if (std::strcmp(name, "gc") == 0) seen |= 1u << kContextGc;
      if (std::strcmp(name, "close") == 0) seen |= 1u << kContextClose;
    }
  }
  return seen;
}

}  // namespace

void note_calling_context(ShapeEntry entry, const cxxlua::StateHandle& state) {
  if (!shapes_enabled()) return;
  if (state.core() && state.core()->closing()) {
    note_shape(entry, ShapeDim::Context, kContextClosing);  // no entry is let in meanwhile
    return;
  }
  unsigned found = 0;
  try {
    found = cxxlua::testing::inspect(state, [](lua_State* L) {
      const bool main = lua_pushthread(L) == 1;
      lua_pop(L, 1);
      unsigned seen = (main ? 1u << kContextMainThread : 1u << kContextCoroutine) | contexts_on_stack(L);
      // The sandbox runs a finalizer written in Lua in a coroutine of its own (so the
      // instruction budget bounds it): its __gc frame is on the thread that resumed it.
      // The main thread's stack is looked at too (not that of a coroutine in between).
      if (!main && lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD) == LUA_TTHREAD)
        seen |= contexts_on_stack(lua_tothread(L, -1));
      if (!main) lua_pop(L, 1);
      return seen;
    });
  } catch (const cxxlua::Error&) {
    return;  // refused (a closed state, another thread's): no context to tell
  }
  for (int c = 0; c < kContextCount; ++c)
    if (found & (1u << c)) note_shape(entry, ShapeDim::Context, c);
}

int shape_suspension_of(const cxxlua::Thread& thread) {
  try {
    switch (thread.status()) {
      case cxxlua::ThreadStatus::Finished: return kSuspensionReturned;
      case cxxlua::ThreadStatus::Resumable: break;
      default: return kSuspensionCount;
    }
    lua_State* co = thread.raw_thread();
    return cxxlua::testing::inspect(cxxlua::testing::state_of(thread), [co](lua_State*) {
      // A coroutine that yielded through a function (coroutine.yield, a host function's
      // yield) is suspended in that C function's frame; a hook yields from the Lua
      // function it interrupted, which is then the innermost frame.
      lua_Debug ar;
      if (lua_status(co) != LUA_YIELD || lua_getstack(co, 0, &ar) == 0) return kSuspensionCount;
      if (lua_getinfo(co, "S", &ar) == 0) return kSuspensionCount;
      return std::strcmp(ar.what, "Lua") == 0 || std::strcmp(ar.what, "main") == 0 ? kSuspensionHookYielded
                                                                                   : kSuspensionYielded;
    });
  } catch (const cxxlua::Error&) {
    return kSuspensionCount;
  }
}

namespace {

const cxxlua::Value& referent(const cxxlua::Value& value) { return value; }
const cxxlua::Value& referent(const cxxlua::Value* value) { return *value; }

template <class Values>
void note_each_argument(ShapeEntry entry, const Values& values) {
  if (!shapes_enabled()) return;
  for (const auto& v : values) note_shape(entry, ShapeDim::ArgKind, shape_kind_of(referent(v)));
  note_shape(entry, ShapeDim::ArgCount, shape_count_bucket(values.size()));
}

}  // namespace

void note_arguments(ShapeEntry entry, const cxxlua::MultiValue& values) { note_each_argument(entry, values); }

void note_arguments(ShapeEntry entry, std::span<const cxxlua::Value* const> values) {
  note_each_argument(entry, values);
}

void end_shape_input() {
  if (mode.load(std::memory_order_relaxed) != kCounting) return;
  input_count.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t r = 0; r < kRowCount; ++r)
    for (unsigned d = 0; d < kDims; ++d)
      for (int v = 0; v < kMaxValues; ++v)
        if (__atomic_exchange_n(&current[r][d][v], std::uint8_t{0}, __ATOMIC_RELAXED) != 0)
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
      for (auto& cell : dim) __atomic_store_n(&cell, std::uint8_t{0}, __ATOMIC_RELAXED);
  for (auto& row : inputs)
    for (auto& dim : row)
      for (auto& cell : dim) cell = 0;
}

}  // namespace luahammer
