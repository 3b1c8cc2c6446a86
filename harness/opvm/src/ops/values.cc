// Ops on values: tables, strings, and the handles in the slots (copy, move, drop).
#include <iterator>
#include <limits>
#include <optional>
#include <string>

#include <luahammer/opvm/shape_coverage.hpp>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::Table;

using cxxlua::Value;

void create_table(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state))
    rt.slots[op.a] = vm->state->create_table(static_cast<int>(op.n % 8), static_cast<int>(op.n % 4));
}

void create_string(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) {
    rt.slots[op.a] = vm->state->create_string(std::string(op.n % 64, static_cast<char>('a' + op.n % 26)));
  }
}

namespace {

// A store of slot b into the table in slot a, at an integer key (n odd) or a string key;
// through the metatable (set_field) or raw (raw_set_field).
void store_field(Runtime& rt, const Op& op, bool raw) {
  if (const Table* t = rt.slot_as<Table>(op.a)) {
    const Value& v = rt.slots[op.b];
    note_shape(op, ShapeDim::KeyKind, (op.n & 1) ? kKindInteger : kKindString);
    note_shape(op, ShapeDim::ValueKind, shapes_enabled() ? shape_kind_of(v) : 0);
    if (op.n & 1) {
      const lua_Integer key{op.n % 4 + 1};
      raw ? t->raw_set(key, v) : t->set(key, v);
    } else {
      const std::string key = "k" + std::to_string(op.n % 4);
      raw ? t->raw_set(key, v) : t->set(key, v);
    }
  }
}

}  // namespace

void set_field(Runtime& rt, const Op& op) { store_field(rt, op, false); }

void get_field(Runtime& rt, const Op& op) {
  if (const Table* t = rt.slot_as<Table>(op.a)) {
    Table table = *t;
    note_shape(op, ShapeDim::KeyKind, (op.n & 1) ? kKindInteger : kKindString);
    rt.slots[op.b] = (op.n & 1) ? table.get(lua_Integer{op.n % 4 + 1}) : table.get("k" + std::to_string(op.n % 4));
  }
}

void raw_set_field(Runtime& rt, const Op& op) { store_field(rt, op, true); }

namespace {
// What an assignment of slot `from` lands on: the handle slot `onto` held before.
void note_assignment(const Op& op, const Value& from, const Value& onto) {
  if (!shapes_enabled()) return;
  note_shape(op, ShapeDim::ValueKind, shape_kind_of(from));
  const cxxlua::Reference* old = onto.reference();
  const cxxlua::Reference* now = from.reference();
  int target = kTargetNoHandle;
  if (old != nullptr && old->valid()) {
    if (!old->state_alive())
      target = kTargetClosedState;
    else
      target = now == nullptr || now->core() == old->core() ? kTargetSameState : kTargetOtherState;
  }
  note_shape(op, ShapeDim::Target, target);
}
}  // namespace

void copy_handle(Runtime& rt, const Op& op) {
  rt.acted = !rt.slots[op.a].is_nil();
  note_assignment(op, rt.slots[op.a], rt.slots[op.b]);
  rt.slots[op.b] = rt.slots[op.a];
}

void move_handle(Runtime& rt, const Op& op) {
  rt.acted = !rt.slots[op.a].is_nil();
  note_assignment(op, rt.slots[op.a], rt.slots[op.b]);
  rt.slots[op.b] = std::move(rt.slots[op.a]);
  rt.slots[op.a] = Value();
}

void drop_handle(Runtime& rt, const Op& op) {
  rt.acted = !rt.slots[op.a].is_nil();
  rt.slots[op.a] = Value();
}

void inspect_table(Runtime& rt, const Op& op) {
  // The table API that reads or reshapes: lengths (with and without __len),
  // metatables, snapshots, iteration, sequences, the registry, identity, strings.
  if (const Table* t = rt.slot_as<Table>(op.a)) {
    Table table = *t;
    switch (op.n % 9) {
      case 0: rt.slots[op.b] = Value(table.len()); break;
      case 1: rt.slots[op.b] = Value(table.raw_len()); break;
      case 2:
        if (auto mt = table.metatable()) rt.slots[op.b] = *mt;
        break;
      case 3: {
        const Table* other = rt.slots[op.b].get_if<Table>();
        table.set_metatable(other != nullptr ? std::optional<Table>(*other) : std::nullopt);
        break;
      }
      case 4: {
        const auto pairs = table.pairs();
        if (!pairs.empty()) rt.slots[op.b] = pairs[op.n % pairs.size()].second;
        break;
      }
      case 5: table.for_each([&](const Value& key, const Value&) { rt.slots[op.b] = key; }); break;
      case 6: {
        auto values = table.sequence_values();
        rt.slots[op.b] = values.empty() ? Value() : values.front();
        break;
      }
      case 7: rt.slots[op.b] = Value(table.same_object(Runtime::handle_of(table).registry())); break;
      case 8:  // the registry itself never reaches a slot: ops could overwrite its reserved keys
        rt.slots[op.b] = Value(Runtime::handle_of(table).registry().raw_len());
        break;
    }
  } else if (const cxxlua::String* s = rt.slot_as<cxxlua::String>(op.a)) {
    rt.slots[op.b] = Value(static_cast<lua_Integer>(s->size()));
  }
}

// A value of each kind the other creators never make: booleans, floats at the edges (NaN,
// the infinities, -0.0, past 2^53), integers at the edges, light userdata, nil, strings
// with an embedded zero, empty or longer than a short string. For the shape table's
// argument, key and value kinds (shapes.def).
void create_scalar(Runtime& rt, const Op& op) {
  const std::uint32_t pick = op.n >> 3;
  switch (op.n % 8) {
    case 0: rt.slots[op.a] = Value((pick & 1) != 0); break;
    case 1: {
      constexpr lua_Number kFloats[] = {0.5,
                                        -0.0,
                                        std::numeric_limits<lua_Number>::quiet_NaN(),
                                        std::numeric_limits<lua_Number>::infinity(),
                                        -std::numeric_limits<lua_Number>::infinity(),
                                        1e308,
                                        9007199254740993.0,
                                        3.0};
      rt.slots[op.a] = Value(kFloats[pick % std::size(kFloats)]);
      break;
    }
    case 2: {
      constexpr lua_Integer kIntegers[] = {LUA_MININTEGER, LUA_MAXINTEGER, 0, -1};
      rt.slots[op.a] = Value(kIntegers[pick % std::size(kIntegers)]);
      break;
    }
    case 3: rt.slots[op.a] = Value(cxxlua::LightUserData{(pick & 1) != 0 ? static_cast<void*>(&rt) : nullptr}); break;
    case 4: rt.slots[op.a] = Value(); break;
    default:
      if (VmState* vm = rt.state_at(op.state)) {
        std::string text;
        if (op.n % 8 == 5) text = std::string("a\0b", 3) + std::string(pick % 8, 'z');  // an embedded zero
        if (op.n % 8 == 7) text.assign(41 + pick % 300, 'L');                           // a long string
        rt.slots[op.a] = vm->state->create_string(text);                                // 6: the empty string
      }
      break;
  }
  rt.acted = true;
}

std::string feature_create_scalar(const Op& op) {
  static const char* const kNames[] = {"boolean",          "float",        "integer_edge", "light_userdata", "nil",
                                       "string_with_zero", "empty_string", "long_string"};
  return std::string("create_scalar_") + kNames[op.n % 8];
}

// The table in slot a, keyed by slot b's value, whatever its kind (nil, NaN, a table, a
// function, …): set to slot b+1's value, raw_set, or get into slot b+1.
void table_any_key(Runtime& rt, const Op& op) {
  if (const Table* t = rt.slot_as<Table>(op.a)) {
    Table table = *t;
    const Value key = rt.slots[op.b];
    const std::size_t other = (op.b + 1u) % kSlots;
    const Value value = rt.slots[other];
    note_shape(op, ShapeDim::KeyKind, shapes_enabled() ? shape_kind_of(key) : 0);
    if (op.n % 3 != 2) note_shape(op, ShapeDim::ValueKind, shapes_enabled() ? shape_kind_of(value) : 0);
    switch (op.n % 3) {
      case 0: table.set(key, value); break;
      case 1: table.raw_set(key, value); break;
      default: rt.slots[other] = table.get(key); break;
    }
  }
}

std::string feature_table_any_key(const Op& op) {
  static const char* const kNames[] = {"set", "raw_set", "get"};
  return std::string("table_any_key_") + kNames[op.n % 3];
}

std::string feature_inspect_table(const Op& op) { return "inspect_table_" + std::to_string(op.n % 9); }

}  // namespace luahammer::ops
