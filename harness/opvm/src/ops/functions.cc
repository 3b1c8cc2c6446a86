// Ops on functions: host functions, snippets, generated programs, calls, stored functions.
#include <span>
#include <string>
#include <vector>

#include <luahammer/opvm/shape_coverage.hpp>

#include "../runtime.hpp"
#include "../snippets.hpp"

namespace luahammer::ops {

using cxxlua::Function;
using cxxlua::MultiValue;
using cxxlua::Table;

namespace {

// call_many_args' argument counts: at, just past and far past the guaranteed slots.
constexpr std::uint32_t kManyArgs[] = {19, 20, 21, 40, 255, 299};

// The host functions an op makes; each marks the shape table's HostFunction row.
Function host_function(const cxxlua::StateHandle& state, std::uint32_t variant) {
  using cxxlua::StateHandle;
  constexpr ShapeEntry kHost = ShapeEntry::HostFunction;
  switch (variant) {
    case 0:
      return state.create_function([](StateHandle s, lua_Integer a, lua_Integer b) {
        note_from_lua(kHost, s, {kKindInteger, kKindInteger});
        return with_outcome(kHost, [&] { return wrapping_add(a, b); });
      });
    case 1:
      return state.create_function([](StateHandle s, std::string text) {
        note_from_lua(kHost, s, {kKindString});
        return with_outcome(kHost, [&] { return text + "!"; });
      });
    case 2:
      return state.create_function([](StateHandle s, MultiValue args) {
        note_from_lua(kHost, s, args);
        return with_outcome(kHost, [&] { return args; });
      });
    case 3:
      return state.create_function([](StateHandle s) -> int {
        note_from_lua(kHost, s, std::initializer_list<int>{});
        return with_outcome(kHost, []() -> int { throw std::runtime_error("host function failed"); });
      });
    case 4:
      return state.create_function([](StateHandle s, Table t) {
        note_from_lua(kHost, s, {kKindTable});
        return with_outcome(kHost, [&] { return t.raw_len(); });
      });
    case 5:
      return state.create_function([](StateHandle s, Function f, MultiValue args) {
        note_from_lua(kHost, s, kKindFunction, args);
        return with_outcome(kHost, [&] { return call_from_host(s, f, args); });
      });
    case 6:
      return state.create_function([](const Probe& p) {
        p.use();
        return p.value;
      });
    default:
      return state.create_function([](StateHandle s, lua_Integer n) {
        note_from_lua(kHost, s, {kKindInteger});
        return with_outcome(kHost, [&] {
          MultiValue out;
          for (lua_Integer i = 0; i < n % 301; ++i) out.emplace_back(i);
          return out;
        });
      });
  }
}

// Marks the shape of a call: each argument's kind and how many (the caller marks, once it
// returned, how many results). `Args`: owned values or pointers to them.
template <class Args>
void note_arguments_of(const Op& op, const Args& args) {
  if (!shapes_enabled()) return;
  if (const auto entry = shape_entry_of(op)) note_arguments(*entry, args);
}

}  // namespace

void create_host_function(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) rt.slots[op.a] = host_function(*vm->state, op.n % 8);
}

void load_snippet(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) {
    const Snippet* snippet = snippet_of(op.n);
    if (snippet == nullptr) return;  // a code no snippet has (yet)
    // Precompiled once per process (the harness's own code, never fuzzed bytes).
    const std::string* chunk = snippet_chunk(*snippet);
    rt.slots[op.a] = chunk != nullptr ? vm->state->load(*chunk, snippet_chunkname(*snippet), "b")
                                      : vm->state->load(snippet->source, snippet_chunkname(*snippet));
  }
}

void load_generated(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) rt.slots[op.a] = vm->state->load(op.text, "=generated");
}

void call_function(Runtime& rt, const Op& op) {
  if (const Function* f = rt.slot_as<Function>(op.a)) {
    Function function = *f;
    MultiValue args;
    for (std::uint32_t i = 0; i < op.n % 4; ++i) args.push_back(rt.slots[(op.b + i) % kSlots]);
    note_arguments_of(op, args);
    MultiValue results = function.call_values(args);
    note_shape(op, ShapeDim::ResultCount, shape_count_bucket(results.size()));
    if (!results.empty()) rt.slots[op.b] = std::move(results.front());
  }
}

// A call with more arguments than the stack slots Lua guarantees (LUA_MINSTACK, 20): up
// to 299, each a slot's value, so the binding must make room as it pushes them (sol2 #696).
// The arguments are the slots' values by address: building them costs no handle copies
// (a copy is a protected call each; they were half of this op's time).
void call_many_args(Runtime& rt, const Op& op) {
  if (const Function* f = rt.slot_as<Function>(op.a)) {
    Function function = *f;
    const std::uint32_t count = kManyArgs[op.n % std::size(kManyArgs)];
    std::vector<const cxxlua::Value*> args(count);
    for (std::uint32_t i = 0; i < count; ++i) args[i] = &rt.slots[(op.b + i) % kSlots];
    note_arguments_of(op, std::span<const cxxlua::Value* const>(args));
    MultiValue results = function.call_borrowed(args);
    note_shape(op, ShapeDim::ResultCount, shape_count_bucket(results.size()));
    if (!results.empty()) rt.slots[op.b] = std::move(results.front());
  }
}

std::string feature_call_many_args(const Op& op) {
  return "call_with_" + std::to_string(kManyArgs[op.n % std::size(kManyArgs)]) + "_args";
}

void store_function(Runtime& rt, const Op& op) {
  if (const Function* f = rt.slot_as<Function>(op.a)) rt.stored.push_back(*f);
}

void call_stored(Runtime& rt, const Op& op) {
  if (!rt.stored.empty()) {
    rt.acted = true;
    Function f = rt.stored[op.n % rt.stored.size()];
    (void)f.call(lua_Integer{op.n});
  }
}

void drop_stored(Runtime& rt, const Op& op) {
  rt.acted = !rt.stored.empty();
  if (!rt.stored.empty()) rt.stored.erase(rt.stored.begin() + static_cast<long>(op.n % rt.stored.size()));
}

std::string detail_load_snippet(const Op& op) {
  const Snippet* snippet = snippet_of(op.n);
  if (snippet == nullptr) return "  -- no snippet has code " + std::to_string(op.n % kSnippetCodeSpace);
  return "  -- " + std::string(snippet->name) + ": " + snippet->source;
}

std::string feature_load_snippet(const Op& op) { return snippet_name(op.n); }

}  // namespace luahammer::ops
