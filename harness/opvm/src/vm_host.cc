#include <luahammer/opvm/vm_host.hpp>

#include <cstring>
#include <stdexcept>

#include <luahammer/core/sandbox.hpp>
#include <luahammer/opvm/shape_coverage.hpp>
#include <cxxlua/testing.hpp>

namespace luahammer {

cxxlua::StateOptions sandbox_options() {
  cxxlua::StateOptions options;
  options.libraries = cxxlua::library::Safe;
  return options;
}

namespace {
int apply_sandbox_protected(lua_State* L) {
  apply_sandbox(L);
  return 0;
}
}  // namespace

// The core sandbox (C API), run protected inside an entry of the binding's; out of memory
// part-way throws as any other call of the binding would.
void apply_sandbox(const cxxlua::StateHandle& state) {
  cxxlua::testing::inspect(state, [](lua_State* L) {
    lua_pushcfunction(L, &apply_sandbox_protected);
    const int status = lua_pcall(L, 0, 0, 0);
    if (status == LUA_OK) return;
    std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "the sandbox failed";
    lua_pop(L, 1);
    throw cxxlua::Error(status == LUA_ERRMEM ? cxxlua::ErrorKind::Memory : cxxlua::ErrorKind::Runtime,
                        std::move(message));
  });
}

using cxxlua::Function;
using cxxlua::MultiValue;
using cxxlua::StateHandle;
using cxxlua::Value;

void HostContext::wake_all() {
  std::vector<std::shared_ptr<cxxlua::Completion<lua_Integer>>> ready;
  std::vector<lua_Integer> values;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& [completion, value] : to_complete) {
      ready.push_back(completion);
      values.push_back(value);
    }
    to_complete.clear();
  }
  for (std::size_t i = 0; i < ready.size(); ++i) ready[i]->complete(values[i]);
}

void note_from_lua(ShapeEntry entry, const StateHandle& state, const MultiValue& args) {
  if (!shapes_enabled()) return;
  note_calling_context(entry, state);
  note_arguments(entry, args);
}

void note_from_lua(ShapeEntry entry, const StateHandle& state, int first_kind, const MultiValue& rest) {
  if (!shapes_enabled()) return;
  note_calling_context(entry, state);
  note_shape(entry, ShapeDim::ArgKind, first_kind);
  for (const Value& v : rest) note_shape(entry, ShapeDim::ArgKind, shape_kind_of(v));
  note_shape(entry, ShapeDim::ArgCount, shape_count_bucket(rest.size() + 1));
}

void note_from_lua(ShapeEntry entry, const StateHandle& state, std::initializer_list<int> kinds) {
  if (!shapes_enabled()) return;
  note_calling_context(entry, state);
  for (int kind : kinds) note_shape(entry, ShapeDim::ArgKind, kind);
  note_shape(entry, ShapeDim::ArgCount, shape_count_bucket(kinds.size()));
}

MultiValue call_from_host(const StateHandle& state, const Function& f, const MultiValue& args) {
  note_from_lua(ShapeEntry::CallFromHost, state, args);
  MultiValue results = with_outcome(ShapeEntry::CallFromHost, [&] { return f.call_values(args); });
  note_shape(ShapeEntry::CallFromHost, ShapeDim::ResultCount, shape_count_bucket(results.size()));
  return results;
}

Probe::Probe(FinalizerLedger* l, lua_Integer v) : ledger(l), id(l->constructed("Probe")), value(v) {}
Probe::Probe(Probe&& other) noexcept
    : ledger(other.ledger), id(ledger->constructed("Probe")), value(other.value), stored(std::move(other.stored)) {}
Probe::~Probe() { ledger->destroyed(id); }

Fragile::Fragile(FinalizerLedger* ledger, lua_Integer value) : inner(ledger, value) {
  if ((value & 1) != 0) throw std::runtime_error("Fragile: odd values are refused");
}

void describe_probe(cxxlua::UserDataBuilder<Probe>& t) {
  t.method("get", [](const Probe& p) {
    p.use();
    return p.value;
  });
  t.method("set", [](Probe& p, lua_Integer v) {
    p.use();
    p.value = v;
  });
  t.method("store", [](Probe& p, Function f) {
    p.use();
    p.stored = std::move(f);
  });
  t.method("call_stored", [](const Probe& p, MultiValue args) {
    p.use();
    if (!p.stored.valid()) return MultiValue{};
    return call_from_host(cxxlua::testing::state_of(p.stored), p.stored, args);
  });
  t.meta("__close", [](const Probe& p, Value) { p.use(); });
  t.meta("__tostring", [](const Probe& p) { return "Probe(" + std::to_string(p.value) + ")"; });
  t.field("value", [](const Probe& p) { return p.value; });
  t.field_setter("value", [](Probe& p, lua_Integer v) {
    p.use();
    p.value = v;
  });
  // Keys that are neither methods nor fields: `twice` reads, any key writes `extra`.
  t.index_fallback([](const Probe& p, Value key) -> Value {
    p.use();
    const auto* name = key.get_if<cxxlua::String>();
    if (name != nullptr && name->to_std_string() == "twice") return Value(wrapping_add(p.value, p.value));
    if (name != nullptr && name->to_std_string() == "extra") return Value(p.extra);
    return Value();
  });
  t.newindex_fallback([](Probe& p, Value, lua_Integer v) {
    p.use();
    p.extra = v;
  });
}

void describe_fragile(cxxlua::UserDataBuilder<Fragile>& t) {
  t.method("get", [](const Fragile& f) {
    f.inner.use();
    return f.inner.value;
  });
  // A setter and no fallbacks: unknown keys read nil and refuse assignment.
  t.field_setter("value", [](Fragile& f, lua_Integer v) {
    f.inner.use();
    f.inner.value = v;
  });
}

void register_vm_types(const StateHandle& state) {
  if (!state.is_registered<Probe>()) state.register_type<Probe>("Probe", &describe_probe);
  if (!state.is_registered<Fragile>()) state.register_type<Fragile>("Fragile", &describe_fragile);
}

namespace {

// Whether the nearest Lua function on the running thread's stack is a chunk named `name`.
bool called_from_chunk(const StateHandle& state, const char* name) {
  return cxxlua::testing::inspect(state, [name](lua_State* L) {
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar) != 0; ++level) {
      if (lua_getinfo(L, "S", &ar) == 0) return false;
      if (std::strcmp(ar.what, "C") != 0) return std::strcmp(ar.source, name) == 0;
    }
    return false;
  });
}

void install_host_api(const StateHandle& state, const std::shared_ptr<HostContext>& context) {
  HostContext* host = context.get();
  cxxlua::Table api = state.create_table(0, 16);  // sized for the 16 entries below: no rehash as they go in
  // Each function goes straight into the table (Table::set_function: no handle in between).
  // Each host function marks the shape table's HostFunction row (where Lua called it
  // from, its arguments, how it ended): note_from_lua and with_outcome.
  constexpr ShapeEntry kHost = ShapeEntry::HostFunction;
  api.set_function("echo", [](StateHandle s, MultiValue args) {
    note_from_lua(kHost, s, args);
    return with_outcome(kHost, [&] {
      for (const Value& v : args) {
        if (cxxlua::is_pending_marker(v)) violation("liveness", "the binding's pending marker reached user code");
      }
      return args;
    });
  });
  // Integer arithmetic wraps around, as Lua's own does (math.maxinteger + 1 is mininteger):
  // a host function must not be undefined behaviour on the values a script passes.
  api.set_function("add", [](StateHandle s, lua_Integer a, lua_Integer b) {
    note_from_lua(kHost, s, {kKindInteger, kKindInteger});
    return with_outcome(kHost, [&] { return wrapping_add(a, b); });
  });
  api.set_function("concat", [](StateHandle s, std::string text, lua_Integer n) {
    note_from_lua(kHost, s, {kKindString, kKindInteger});
    return with_outcome(kHost, [&] { return text + std::to_string(n); });
  });
  api.set_function("light", [host](StateHandle s) {
    note_from_lua(kHost, s, std::initializer_list<int>{});
    return with_outcome(kHost, [&] { return cxxlua::LightUserData{host}; });
  });
  api.set_function("fail", [](StateHandle s, Value v) -> int {
    if (shapes_enabled()) note_from_lua(kHost, s, MultiValue{v});
    return with_outcome(kHost, [&]() -> int {
      throw cxxlua::Error(cxxlua::ErrorKind::Runtime, std::string("host.fail with a ") + v.type_name());
    });
  });
  // The three kinds of exception a host function can throw: a binding Error of every kind
  // (its message and cause reach Lua), a std::exception, and one of no standard type.
  api.set_function("throw", [](StateHandle s, lua_Integer n) -> int {
    note_from_lua(kHost, s, {kKindInteger});
    return with_outcome(kHost, [&]() -> int {
      const lua_Integer kinds = static_cast<lua_Integer>(cxxlua::ErrorKind::Thread) + 1;
      switch (((n % 3) + 3) % 3) {
        case 0: throw cxxlua::Error(static_cast<cxxlua::ErrorKind>(((n / 3) % kinds + kinds) % kinds), "host.throw");
        case 1: throw std::runtime_error("host.throw: a std::runtime_error");
        default: throw n;
      }
    });
  });
  api.set_function("make", [host](StateHandle s, lua_Integer n) {
    note_from_lua(kHost, s, {kKindInteger});
    return with_outcome(kHost, [&] { return s.create_userdata<Probe>(&host->finalizers, n); });
  });
  api.set_function("fragile", [host](StateHandle s, lua_Integer n) {
    note_from_lua(kHost, s, {kKindInteger});
    return with_outcome(kHost, [&] { return s.create_userdata<Fragile>(&host->finalizers, n); });
  });
  api.set_function("store", [host](StateHandle s, Function f) {
    note_from_lua(kHost, s, {kKindFunction});
    return with_outcome(kHost, [&] {
      std::lock_guard<std::mutex> lock(host->mutex);
      host->stored.push_back(std::move(f));
      return static_cast<lua_Integer>(host->stored.size());
    });
  });
  api.set_function("call_stored", [host](StateHandle s, lua_Integer slot, MultiValue args) {
    note_from_lua(kHost, s, kKindInteger, args);
    return with_outcome(kHost, [&] {
      Function f;
      {
        std::lock_guard<std::mutex> lock(host->mutex);
        if (slot < 1 || slot > static_cast<lua_Integer>(host->stored.size())) return MultiValue{};
        f = host->stored[static_cast<std::size_t>(slot - 1)];
      }
      return call_from_host(s, f, args);
    });
  });
  api.set_function("drop_stored", [host](StateHandle s, lua_Integer slot) {
    note_from_lua(kHost, s, {kKindInteger});
    with_outcome(kHost, [&] {
      Function dropped;
      std::lock_guard<std::mutex> lock(host->mutex);
      if (slot >= 1 && slot <= static_cast<lua_Integer>(host->stored.size())) {
        dropped = std::move(host->stored[static_cast<std::size_t>(slot - 1)]);
      }
    });
  });
  api.set_function("pause", [](StateHandle s, Value v) {
    if (shapes_enabled()) note_from_lua(kHost, s, MultiValue{v});
    return with_outcome(kHost, [&] { return cxxlua::Yield{MultiValue{v}}; });
  });
  // A semantic oracle for the self-checking snippet only: a failed check counts when the
  // nearest Lua caller is that snippet's chunk. Fuzzed code (whose chunks the sandbox
  // names "=input", "=generated", "=load …") gets a clean error instead of a finding.
  api.set_function("check", [](StateHandle s, bool ok, std::optional<std::string> what) {
    if (ok) return;
    if (!called_from_chunk(s, kSelfCheckChunk)) {
      throw cxxlua::Error(cxxlua::ErrorKind::Runtime, "host.check: only the self-checking snippet may fail a check");
    }
    violation("semantics", what.value_or("host.check failed"));
  });
  // Errors the chaos plans cause on purpose (hooks, budgets, memory): not corruption.
  api.set_function("expected_error", [](Value error) {
    const auto* text = error.get_if<cxxlua::String>();
    if (text == nullptr) return true;  // an error box or another value: a host error
    const std::string message = text->to_std_string();
    // "hook failed": the binding's report of an exception a hook plan threw (of any type).
    for (const char* expected :
         {"hook plan", "hook failed", "instruction budget", "memory", "closing", "C stack overflow"}) {
      if (message.find(expected) != std::string::npos) return true;
    }
    return false;
  });
  api.set_function("close", [](StateHandle s, cxxlua::Thread thread) {
    note_from_lua(kHost, s, {kKindThread});
    note_from_lua(ShapeEntry::CloseFromHost, s, std::initializer_list<int>{});
    with_outcome(kHost, [&] { with_outcome(ShapeEntry::CloseFromHost, [&] { thread.close(); }); });
  });
  api.set("fetch", state.create_async_function([host](lua_Integer n) -> cxxlua::AsyncPoll {
    auto completion = std::make_shared<cxxlua::Completion<lua_Integer>>();
    {
      std::lock_guard<std::mutex> lock(host->mutex);
      host->to_complete.emplace_back(completion, wrapping_add(n, n));
    }
    return [completion](StateHandle&, const cxxlua::Waker& waker) -> std::optional<MultiValue> {
      if (auto v = completion->poll(waker)) return MultiValue{Value(*v)};
      return std::nullopt;
    };
  }));
  state.globals().set("host", api);
}

}  // namespace

void reset_budget(VmState& vm) {
  if (vm.instructions) *vm.instructions = 0;
  if (vm.allocator) vm.allocator->reset_grown_bytes();
}

void lift_limits(VmState& vm, std::size_t byte_limit) {
  vm.allocator->disarm();
  vm.allocator->set_byte_limit(byte_limit);
  vm.state->set_memory_limit(0);
}

void check_and_close(VmState& vm, const char* what) {
  // The memory cap stays: finalizers that run at close may allocate without end.
  lift_limits(vm, vm.memory_cap);
  reset_budget(vm);
  vm.state->remove_hook();
  for (int i = 0; i < 3; ++i) {
    drop_host_handles(vm);
    vm.state->collect_garbage();
  }
  drop_host_handles(vm);
  (void)vm.state->create_table();
  check_stack_at_rest(*vm.state, what);
  reset_budget(vm);
  vm.state->close();
  check_after_close(vm, what);
  // After close: what Lua still owned (a userdata holding a handle) released it there.
  vm.references->check_none_live(what);
}

void drop_host_handles(VmState& vm) {
  std::lock_guard<std::mutex> lock(vm.host->mutex);
  vm.host->stored.clear();
  vm.host->to_complete.clear();
}

void check_after_close(VmState& vm, const char* what) {
  check_memory_returned(*vm.allocator, what);
  vm.host->finalizers.check_all_destroyed(what);
  check_finalizers_called_by_lua(*vm.state, what);
}

namespace {

// One budget tick per this much allocation growth; the allowance of growth per call is
// the budget's ticks times this (about 13 MiB for the default budget, below the 16 MiB cap).
constexpr std::uint64_t kBytesPerTick = 64 * 1024;

// What a VM state needs besides its lua_State: allocator, ledgers, host context, budget.
VmState vm_parts(std::uint64_t instruction_budget) {
  VmState vm;
  vm.allocator = std::make_unique<FaultAllocator>();
  vm.references = std::make_unique<ReferenceLedger>();
  vm.host = std::make_shared<HostContext>();
  vm.instructions = std::make_shared<std::atomic<std::uint64_t>>(0);
  vm.instruction_ticks_allowed = instruction_budget / 1000 + 1;
  vm.allocator->set_growth_allowance(vm.instruction_ticks_allowed * kBytesPerTick);
  return vm;
}

// The instruction budget: a count hook (coexisting with the hook plans under test) that
// counts ticks of 1000 instructions, plus one tick per kBytesPerTick of allocation growth.
// Once spent it stays spent until the next reset: a second hook then raises at every
// instruction, so a pcall loop cannot catch its way past it (the first instruction after
// the catch raises again); it removes itself once the budget is reset.
struct BudgetMeter {
  std::shared_ptr<std::atomic<std::uint64_t>> ticks;
  const FaultAllocator* allocator;
  std::uint64_t allowed;
  std::shared_ptr<std::atomic<cxxlua::HookId>> exhausted_hook;  // 0: not set
  bool spent() const { return ticks->load() + allocator->grown_bytes() / kBytesPerTick > allowed; }
};

cxxlua::HookAction budget_error() { return cxxlua::HookAction::error("instruction budget exhausted"); }

void install_budget(VmState& vm) {
  const BudgetMeter meter{vm.instructions, vm.allocator.get(), vm.instruction_ticks_allowed,
                          std::make_shared<std::atomic<cxxlua::HookId>>(0)};
  vm.state->add_hook(
      cxxlua::HookTriggers{.every_nth_instruction = 1000}, [meter](StateHandle& state, const cxxlua::HookEvent& event) {
        ++*meter.ticks;
        if (!meter.spent()) return cxxlua::HookAction::resume();
        if (meter.exhausted_hook->load() == 0) {
          meter.exhausted_hook->store(state.add_hook(cxxlua::HookTriggers{.every_nth_instruction = 1},
                                                     [meter](StateHandle& s, const cxxlua::HookEvent&) {
                                                       if (meter.spent()) return budget_error();
                                                       s.remove_hook(meter.exhausted_hook->exchange(0));
                                                       return cxxlua::HookAction::resume();
                                                     }));
          // add_hook sets the main thread's hook; a coroutine keeps the
          // count it was created with unless told.
          if (event.thread != cxxlua::testing::main_thread(state)) {
            lua_sethook(event.thread, lua_gethook(event.thread), lua_gethookmask(event.thread) | LUA_MASKCOUNT, 1);
          }
        }
        return budget_error();
      });
}

// Builds the state over its parts: sandbox, host API and the instruction budget. Throws
// when memory runs out part-way; whatever was built is left in vm.state.
void open_vm_state(VmState& vm, bool thread_safe) {
  cxxlua::StateOptions options = sandbox_options();
  options.allocator = vm.allocator->function();
  options.allocator_data = vm.allocator->data();
  options.reference_observer = vm.references.get();
  options.thread_safe = thread_safe;
  vm.state = std::make_shared<cxxlua::State>(options);
  apply_sandbox(*vm.state);
  install_host_api(*vm.state, vm.host);
  install_budget(vm);
}

}  // namespace

VmState make_vm_state(bool thread_safe, std::size_t memory_cap, std::uint64_t instruction_budget) {
  VmState vm = vm_parts(instruction_budget);
  vm.memory_cap = memory_cap;
  vm.allocator->set_byte_limit(memory_cap);
  open_vm_state(vm, thread_safe);
  return vm;
}

bool build_under_limit(std::size_t limit, std::uint64_t instruction_budget) {
  VmState vm = vm_parts(instruction_budget);
  vm.allocator->set_byte_limit(limit);
  try {
    open_vm_state(vm, false);
  } catch (const cxxlua::Error&) {
    // Out of memory part-way: expected under a small limit.
  }
  const bool built = vm.state != nullptr;
  vm.allocator->set_byte_limit(0);
  if (vm.state) {
    vm.references->check_none_live("create_state under a tight limit");
    vm.state->close();
    vm.state.reset();
  }
  check_memory_returned(*vm.allocator, "create_state under a tight limit");
  return built;
}

}  // namespace luahammer
