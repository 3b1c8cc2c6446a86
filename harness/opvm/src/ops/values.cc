// Ops on values: tables, strings, and the handles in the slots (copy, move, drop).
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
    note_shape(op.code, ShapeDim::KeyKind, (op.n & 1) ? kKindInteger : kKindString);
    note_shape(op.code, ShapeDim::ValueKind, shapes_enabled() ? shape_kind_of(v) : 0);
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
    note_shape(op.code, ShapeDim::KeyKind, (op.n & 1) ? kKindInteger : kKindString);
    rt.slots[op.b] = (op.n & 1) ? table.get(lua_Integer{op.n % 4 + 1}) : table.get("k" + std::to_string(op.n % 4));
  }
}

void raw_set_field(Runtime& rt, const Op& op) { store_field(rt, op, true); }

namespace {
// What an assignment of slot `from` lands on: the handle slot `onto` held before.
void note_assignment(const Op& op, const Value& from, const Value& onto) {
  if (!shapes_enabled()) return;
  note_shape(op.code, ShapeDim::ValueKind, shape_kind_of(from));
  const cxxlua::Reference* old = onto.reference();
  const cxxlua::Reference* now = from.reference();
  int target = kTargetNoHandle;
  if (old != nullptr && old->valid()) {
    if (!old->state_alive())
      target = kTargetClosedState;
    else
      target = now == nullptr || now->core() == old->core() ? kTargetSameState : kTargetOtherState;
  }
  note_shape(op.code, ShapeDim::Target, target);
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

std::string feature_inspect_table(const Op& op) { return "inspect_table_" + std::to_string(op.n % 9); }

}  // namespace luahammer::ops
