#include "harness/op_vm.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include <fuzzer/FuzzedDataProvider.h>

#include "harness/oracles.hpp"
#include "harness/vm_host.hpp"

namespace luahammer {

using cxxlua::AnyUserData;
using cxxlua::Function;
using cxxlua::MultiValue;
using cxxlua::StateHandle;
using cxxlua::Table;
using cxxlua::Thread;
using cxxlua::Value;

namespace {

constexpr std::size_t kSlots = 8;

const char* const kOpNames[] = {
    "create_state",         "close_state",     "register_types",   "create_table",     "create_string",
    "create_host_function", "load_snippet",    "load_generated",   "set_field",        "get_field",
    "raw_set_field",        "copy_handle",     "move_handle",      "drop_handle",      "call_function",
    "store_function",       "call_stored",     "drop_stored",      "create_userdata",  "store_in_userdata",
    "borrow_userdata",      "take_userdata",   "destroy_userdata", "create_coroutine", "resume_coroutine",
    "close_coroutine",      "start_async",     "poll_async",       "wake_all",         "drop_async",
    "set_hook_plan",        "remove_hook",     "gc_collect",       "gc_step",          "gc_mode",
    "set_fail_plan",        "clear_fail_plan", "set_memory_limit", "inspect_table",    "thread_hook",
    "reset_coroutine",      "block_on",        "inspect_userdata", "inspect_state",
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<std::size_t>(OpCode::Count));

// Lua chunks that drive the binding's host paths; LoadSnippet picks one.
const char* const kSnippets[] = {
    "return host.echo(...)",
    "local u = host.make(3) u:set(4) return u:get()",
    "local t = {} t.ud = host.make(1) t[1] = host.make(2) return t",
    "return function(...) return select('#', ...) end",
    "local s = host.store(function(x) return x end) return host.call_stored(s, 5)",
    "return coroutine.wrap(function(x) local y = coroutine.yield(x) return y end)",
    "local co = coroutine.create(function() return host.fetch(2) end) return host.echo(coroutine.resume(co))",
    "return host.fetch(1) + host.fetch(2)",
    "error({code = 1})",
    "local r <close> = host.make(9) return r:get()",
    "setmetatable({}, {__gc = function() local u = host.make(1) end}) collectgarbage()",
    "local t = setmetatable({}, {__gc = function(o) saved = o.ud end}) t.ud = host.make(5) t = nil "
    "collectgarbage() collectgarbage() return saved and pcall(saved.get, saved)",
    "return host.pause(7)",
    "local many = {} for i = 1, 300 do many[i] = i end return table.unpack(many)",
    "return host.concat(string.rep('x', 100), 1)",
    "return function(f, ...) return pcall(f, ...) end",
    "host.fail({code = 2})",
    "local ok, f = pcall(host.fragile, ...) return ok and f:get()",
    "for i = 1, 5 do local co = coroutine.create(function() error('retry') end) coroutine.resume(co) "
    "setmetatable({}, {__gc = function() local x = coroutine.create(function() end) end}) end "
    "collectgarbage('step', 1)",
    "local u = host.make(1) u:store(function(...) return ... end) return u:call_stored(1, 2)",
    "local w = coroutine.wrap(function() local inner = coroutine.wrap(function() return host.fetch(3) end) "
    "return inner() end) return w()",
    // The binding's resume and wrap on the edges: dead, non-suspended (the main thread),
    // a wrapped coroutine raising a string (position added) and called again once dead.
    "local co = coroutine.create(function() return 1 end) coroutine.resume(co) "
    "local w = coroutine.wrap(function() error('inner') end) local _, wrapped = pcall(w) local _, again = pcall(w) "
    "return select(2, coroutine.resume(co)), wrapped, again, select(2, coroutine.resume(coroutine.running())), "
    "coroutine.running()",
    // A reference taken inside a coroutine outlives it (sol2 #890).
    "local co = coroutine.wrap(function() return host.store(function() return 1 end) end) "
    "local slot = co() co = nil collectgarbage() return host.call_stored(slot)",
    // Self-checking: after hook yields and collections the locals must be intact (mlua #723).
    "local ok, good = pcall(function() local parts, text = {}, string.rep('a', 10) .. 'b' "
    "for i = 1, 40 do parts[#parts + 1] = text .. i end return #parts == 40 and parts[40] == text .. 40 end) "
    "host.check(ok and good or not ok and host.expected_error(good), 'live registers lost: ' .. tostring(good))",
    // Closing the running coroutine from a host handle is a clean error (mlua #416).
    "local co = coroutine.wrap(function() return pcall(host.close, coroutine.running()) end) return co()",
    // Field setters and the __index / __newindex fallbacks of a registered type.
    "local u = host.make(2) u.value = 7 u.extra = 3 local ok = pcall(function() u.extra = 'x' end) "
    "return u.value + u.twice + u.extra, u.nothing, ok",
    "local ok, f = pcall(host.fragile, 2) if ok then f.value = 4 local bad = pcall(function() f.other = 1 end) "
    "return f.value, f.other, bad end",
    // Non-string error values reaching the host (a number, a float), then a host error's box.
    "local n = ... if n then error(1.5) end error(42)",
    "local ok, e = pcall(host.fail, 1) return tostring(e), e",
    "return +",
    "local p = host.light() return host.echo(p, type(p), p == host.light())",
    // Argument conversions: floats to strings and integers, and the refusals.
    "return host.concat(1.5, 2), host.concat(2^53, 1), host.add(2.0, 3), pcall(host.add, 1.5, 2), "
    "pcall(host.add, 'x', 1), pcall(host.concat, {}, 1)",
    // Every kind of exception a host function throws, as the error value Lua sees.
    "local seen = {} for i = 0, 35 do local ok, e = pcall(host.throw, i) seen[#seen + 1] = tostring(e) end "
    "return #seen, seen[1], seen[2], seen[3]",
    // Finalizers that raise (a string, a table): Lua reports them as warnings, not errors.
    "setmetatable({}, {__gc = function() error('gc fails') end}) "
    "setmetatable({}, {__gc = function() error({}) end}) collectgarbage() collectgarbage()",
    // A finalizer that runs only at close and calls back into the binding there: the
    // binding must refuse cleanly (the state is closing). Run early, it makes a Probe.
    "kept_until_close = setmetatable({}, {__gc = function() host.make(1) end}) return kept_until_close",
};
constexpr std::size_t kSnippetCount = sizeof(kSnippets) / sizeof(kSnippets[0]);
const char* const kSnippetNames[] = {
    "echo_args",
    "probe_methods",
    "userdata_in_table",
    "vararg_count",
    "host_stored_function",
    "coroutine_wrap_yield",
    "async_in_plain_resume",
    "async_sum",
    "error_table",
    "close_probe",
    "gc_creates_userdata",
    "resurrection",
    "host_yield",
    "unpack_300",
    "long_concat",
    "pcall_wrapper",
    "host_fail_table",
    "fragile_constructor",
    "retry_loop_fresh_coroutines",
    "probe_stored_function",
    "nested_wrap_async",
    "running_coroutine",
    "store_in_coroutine",
    "hook_yield_self_check",
    "close_running_coroutine",
    "probe_fields",
    "fragile_fields",
    "number_errors",
    "error_box_tostring",
    "syntax_error",
    "light_userdata",
    "argument_coercions",
    "host_throws",
    "gc_raises",
    "finalizer_calls_in_at_close",
};
static_assert(sizeof(kSnippetNames) / sizeof(kSnippetNames[0]) == kSnippetCount);

std::vector<OpCode> all_ops() {
  std::vector<OpCode> ops;
  for (int i = 0; i < static_cast<int>(OpCode::Count); ++i) ops.push_back(static_cast<OpCode>(i));
  return ops;
}

}  // namespace

const char* snippet_name(std::uint32_t n) noexcept { return kSnippetNames[n % kSnippetCount]; }

const char* op_name(OpCode code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i < static_cast<std::size_t>(OpCode::Count) ? kOpNames[i] : "?";
}

OpProgram OpProgram::decode(const std::uint8_t* bytes, std::size_t size, const ProgramOptions& options) {
  FuzzedDataProvider data(bytes, size);
  OpProgram program;
  const std::vector<OpCode> menu = options.menu.empty() ? all_ops() : options.menu;
  const auto states = static_cast<std::uint8_t>(std::max<std::size_t>(1, options.max_states) - 1);
  program.gc = GcPlan::decode(data);
  if (options.leading_hook_plan) {
    Op op;
    op.code = OpCode::SetHookPlan;
    op.hook = HookPlan::decode(data);
    program.ops.push_back(std::move(op));
  }
  // Ops that create what other ops act on are drawn more often (one op in three).
  std::vector<OpCode> creators;
  for (OpCode code : {OpCode::CreateTable, OpCode::CreateString, OpCode::CreateHostFunction, OpCode::LoadSnippet,
                      OpCode::LoadGenerated, OpCode::CreateUserdata, OpCode::CreateCoroutine, OpCode::StartAsync}) {
    if (std::find(menu.begin(), menu.end(), code) != menu.end()) creators.push_back(code);
  }
  while (data.remaining_bytes() > 0 && program.ops.size() < options.max_ops) {
    Op op;
    const std::uint8_t draw = data.ConsumeIntegral<std::uint8_t>();
    if (!creators.empty() && draw % 3 == 0) {
      op.code = creators[(draw / 3) % creators.size()];
    } else {
      op.code = menu[data.ConsumeIntegralInRange<std::size_t>(0, menu.size() - 1)];
    }
    op.state = data.ConsumeIntegralInRange<std::uint8_t>(0, states);
    op.a = data.ConsumeIntegralInRange<std::uint8_t>(0, kSlots - 1);
    op.b = data.ConsumeIntegralInRange<std::uint8_t>(0, kSlots - 1);
    op.n = data.ConsumeIntegral<std::uint16_t>();
    switch (op.code) {
      case OpCode::CreateState:
        if (!options.thread_safe_states) op.b &= ~1u;
        break;
      case OpCode::LoadGenerated: {
        const std::size_t length = data.ConsumeIntegralInRange<std::size_t>(0, 96);
        const std::vector<std::uint8_t> source = data.ConsumeBytes<std::uint8_t>(length);
        op.text = generate_lua_program(source.data(), source.size(), options.generator);
        break;
      }
      case OpCode::SetHookPlan:
      case OpCode::ThreadHook: op.hook = HookPlan::decode(data); break;
      case OpCode::SetFailPlan: op.fail = FailPlan::decode(data); break;
      default: break;
    }
    program.ops.push_back(std::move(op));
  }
  return program;
}

std::string OpProgram::explain() const {
  std::string out = "# " + std::to_string(ops.size()) + " ops; " + gc.describe() + "\n";
  int i = 0;
  for (const Op& op : ops) {
    char head[160];
    std::snprintf(head, sizeof head, "%3d %-20s state=%u a=%u b=%u n=%u", ++i, op_name(op.code), op.state, op.a, op.b,
                  op.n);
    out += head;
    switch (op.code) {
      case OpCode::LoadSnippet:
        out += "  -- " + std::string(kSnippetNames[op.n % kSnippetCount]) + ": " + kSnippets[op.n % kSnippetCount];
        break;
      case OpCode::SetHookPlan:
      case OpCode::ThreadHook:
        out += "  -- " + ((op.code == OpCode::ThreadHook && (op.n & 1)) ? "remove" : op.hook.describe());
        break;
      case OpCode::SetFailPlan: out += "  -- " + op.fail.describe(); break;
      case OpCode::CreateState:
        out += (op.b & 2) ? "  -- throwaway, under a tight limit" : (op.b & 1) ? "  -- thread-safe" : "";
        break;
      default: break;
    }
    out += "\n";
    if (op.code == OpCode::LoadGenerated) {
      out += "    --[[ generated program\n" + op.text + "    ]]\n";
    }
  }
  return out;
}

namespace {

struct Slot {
  Value value;
};

class Runtime {
 public:
  Runtime(const OpProgram& program, const RunOptions& options) : program_(program), options_(options) {
    states_.resize(std::max<std::size_t>(1, max_state_index() + 1));
    if (options_.shared_state) {
      states_[0].state = options_.shared_state;
      states_[0].host = options_.shared_host;
      states_[0].instructions = options_.shared_instructions;
      states_[0].owned = false;
    } else {
      // Every program starts with a live state 0: most ops need one.
      states_[0] = make_vm_state(false, options_.memory_cap, options_.instruction_budget);
      program_.gc.apply(*states_[0].state);
    }
  }

  RunStats run() {
    for (const Op& op : program_.ops) {
      if (options_.on_op) options_.on_op(op);
      ++stats_.ops;
      check_op_budget(stats_.ops + polls_, options_.op_budget);
      execute(op);
      between_ops();
    }
    finish();
    return stats_;
  }

 private:
  std::size_t max_state_index() const {
    std::size_t m = 0;
    for (const Op& op : program_.ops) m = std::max<std::size_t>(m, op.state);
    return m;
  }

  // The state an op names, or the next live one: operands resolve to something usable so
  // random programs spend their ops on the binding, not on empty slots.
  VmState* state_at(std::size_t index) {
    for (std::size_t i = 0; i < states_.size(); ++i) {
      VmState& vm = states_[(index + i) % states_.size()];
      if (!vm.state || vm.state->is_closed()) continue;
      reset_budget(vm);  // a fresh instruction budget for this op
      acted_ = true;
      return &vm;
    }
    // Every state is closed: open a fresh one where the op points (handles of the closed
    // states stay in their slots, dead, for the ops that use them after close).
    VmState& vm = states_[index % states_.size()];
    if (!vm.owned) return nullptr;
    retire(vm);
    vm = make_vm_state(false, options_.memory_cap, options_.instruction_budget);
    program_.gc.apply(*vm.state);
    acted_ = true;
    return &vm;
  }

  // The first slot holding a T, starting at the one the op names.
  template <class T>
  const T* slot_as(std::uint8_t index) {
    for (std::size_t i = 0; i < kSlots; ++i) {
      if (const T* found = slots_[(index + i) % kSlots].value.template get_if<T>()) {
        acted_ = true;
        return found;
      }
    }
    return nullptr;
  }

  StateHandle handle_of(const cxxlua::Reference& ref) { return StateHandle(ref.shared_core()); }

  void reset_budgets() {
    for (VmState& vm : states_) reset_budget(vm);
  }

  void execute(const Op& op) {
    reset_budgets();
    acted_ = false;
    try {
      execute_unchecked(op);
      if (!acted_) ++stats_.idle_ops;
    } catch (const cxxlua::Error&) {
      ++stats_.clean_errors;
    } catch (const std::exception&) {
      ++stats_.clean_errors;  // e.g. a Fragile constructor refusing a value
    }
  }

  void execute_unchecked(const Op& op) {
    switch (op.code) {
      case OpCode::CreateState: {
        if (op.state >= states_.size()) return;
        VmState& vm = states_[op.state];
        if (op.b & 2) {
          // A throwaway state built under a limit that may be too small for it.
          acted_ = true;
          build_under_limit(tight_state_limit(op.n), options_.instruction_budget);
          return;
        }
        if (vm.state && (!vm.owned || !vm.state->is_closed())) return;
        acted_ = true;
        retire(vm);
        vm = make_vm_state((op.b & 1) != 0, options_.memory_cap, options_.instruction_budget);
        program_.gc.apply(*vm.state);
        return;
      }
      case OpCode::CloseState: {
        VmState* vm = state_at(op.state);
        if (vm == nullptr || !vm->owned) return;
        close_and_check(*vm, "close_state");
        return;
      }
      case OpCode::RegisterTypes:
        if (VmState* vm = state_at(op.state)) {
          if (op.n & 1) {
            // Registering a type twice is refused with a clean error.
            vm->state->register_type<Probe>("Probe", &describe_probe);
          } else {
            register_vm_types(*vm->state);
          }
        }
        return;
      case OpCode::CreateTable:
        if (VmState* vm = state_at(op.state))
          slots_[op.a].value = vm->state->create_table(static_cast<int>(op.n % 8), static_cast<int>(op.n % 4));
        return;
      case OpCode::CreateString:
        if (VmState* vm = state_at(op.state)) {
          slots_[op.a].value = vm->state->create_string(std::string(op.n % 64, static_cast<char>('a' + op.n % 26)));
        }
        return;
      case OpCode::CreateHostFunction:
        if (VmState* vm = state_at(op.state)) slots_[op.a].value = host_function(*vm->state, op.n % 8);
        return;
      case OpCode::LoadSnippet:
        if (VmState* vm = state_at(op.state)) {
          const std::uint32_t k = op.n % kSnippetCount;
          // Only the self-checking snippet's chunk may fail host.check.
          const bool self_check = std::strcmp(kSnippetNames[k], "hook_yield_self_check") == 0;
          slots_[op.a].value = vm->state->load(kSnippets[k], self_check ? kSelfCheckChunk : "=snippet");
        }
        return;
      case OpCode::LoadGenerated:
        if (VmState* vm = state_at(op.state)) slots_[op.a].value = vm->state->load(op.text, "=generated");
        return;
      case OpCode::SetField:
      case OpCode::RawSetField:
        if (const Table* t = slot_as<Table>(op.a)) {
          const Value& v = slots_[op.b].value;
          if (op.n & 1) {
            if (op.code == OpCode::SetField)
              t->set(lua_Integer{op.n % 4 + 1}, v);
            else
              t->raw_set(lua_Integer{op.n % 4 + 1}, v);
          } else {
            const std::string key = "k" + std::to_string(op.n % 4);
            if (op.code == OpCode::SetField)
              t->set(key, v);
            else
              t->raw_set(key, v);
          }
        }
        return;
      case OpCode::InspectTable:
        // The table API that reads or reshapes: lengths (with and without __len),
        // metatables, snapshots, iteration, sequences, the registry, identity, strings.
        if (const Table* t = slot_as<Table>(op.a)) {
          Table table = *t;
          switch (op.n % 9) {
            case 0: slots_[op.b].value = Value(table.len()); break;
            case 1: slots_[op.b].value = Value(table.raw_len()); break;
            case 2:
              if (auto mt = table.metatable()) slots_[op.b].value = *mt;
              break;
            case 3: {
              const Table* other = slots_[op.b].value.get_if<Table>();
              table.set_metatable(other != nullptr ? std::optional<Table>(*other) : std::nullopt);
              break;
            }
            case 4: {
              const auto pairs = table.pairs();
              if (!pairs.empty()) slots_[op.b].value = pairs[op.n % pairs.size()].second;
              break;
            }
            case 5: table.for_each([&](const Value& key, const Value&) { slots_[op.b].value = key; }); break;
            case 6: {
              auto values = table.sequence_values();
              slots_[op.b].value = values.empty() ? Value() : values.front();
              break;
            }
            case 7: slots_[op.b].value = Value(table.same_object(handle_of(table).registry())); break;
            case 8:  // the registry itself never reaches a slot: ops could overwrite its reserved keys
              slots_[op.b].value = Value(handle_of(table).registry().raw_len());
              break;
          }
        } else if (const cxxlua::String* s = slot_as<cxxlua::String>(op.a)) {
          slots_[op.b].value = Value(static_cast<lua_Integer>(s->size()));
        }
        return;
      case OpCode::GetField:
        if (const Table* t = slot_as<Table>(op.a)) {
          Table table = *t;
          slots_[op.b].value =
              (op.n & 1) ? table.get(lua_Integer{op.n % 4 + 1}) : table.get("k" + std::to_string(op.n % 4));
        }
        return;
      case OpCode::CopyHandle:
        acted_ = !slots_[op.a].value.is_nil();
        slots_[op.b].value = slots_[op.a].value;
        return;
      case OpCode::MoveHandle:
        acted_ = !slots_[op.a].value.is_nil();
        slots_[op.b].value = std::move(slots_[op.a].value);
        slots_[op.a].value = Value();
        return;
      case OpCode::DropHandle:
        acted_ = !slots_[op.a].value.is_nil();
        slots_[op.a].value = Value();
        return;
      case OpCode::CallFunction:
        if (const Function* f = slot_as<Function>(op.a)) {
          Function function = *f;
          MultiValue args;
          for (std::uint32_t i = 0; i < op.n % 4; ++i) args.push_back(slots_[(op.b + i) % kSlots].value);
          MultiValue results = function.call_values(args);
          if (!results.empty()) slots_[op.b].value = std::move(results.front());
        }
        return;
      case OpCode::StoreFunction:
        if (const Function* f = slot_as<Function>(op.a)) stored_.push_back(*f);
        return;
      case OpCode::CallStored:
        if (!stored_.empty()) {
          acted_ = true;
          Function f = stored_[op.n % stored_.size()];
          (void)f.call(lua_Integer{op.n});
        }
        return;
      case OpCode::DropStored:
        acted_ = !stored_.empty();
        if (!stored_.empty()) stored_.erase(stored_.begin() + static_cast<long>(op.n % stored_.size()));
        return;
      case OpCode::CreateUserdata:
        if (VmState* vm = state_at(op.state)) {
          if (op.b & 1) {
            slots_[op.a].value = vm->state->create_userdata<Fragile>(&vm->host->finalizers, lua_Integer{op.n});
          } else {
            slots_[op.a].value = vm->state->create_userdata<Probe>(&vm->host->finalizers, lua_Integer{op.n});
          }
        }
        return;
      case OpCode::StoreInUserdata:
        if (const AnyUserData* u = slot_as<AnyUserData>(op.a)) {
          if (const Function* f = slot_as<Function>(op.b)) {
            auto probe = u->borrow_mut<Probe>();
            probe->use();
            probe->stored = *f;
          }
        }
        return;
      case OpCode::BorrowUserdata:
        if (const AnyUserData* u = slot_as<AnyUserData>(op.a)) {
          if (op.n % 4 == 3) {
            // Closing the state under a live borrow must be refused, the object intact.
            auto probe = u->borrow<Probe>();
            probe->use();
            for (VmState& vm : states_) {
              if (vm.state && vm.owned && !vm.state->is_closed() && u->shared_core() == vm.state->core()) {
                close_and_check(vm, "close_state under a borrow");
              }
            }
            probe->use();
          } else if (op.n & 1) {
            auto probe = u->borrow_mut<Probe>();
            probe->use();
            probe->value += 1;
          } else {
            auto probe = u->borrow<Probe>();
            probe->use();
          }
        }
        return;
      case OpCode::TakeUserdata:
        if (const AnyUserData* u = slot_as<AnyUserData>(op.a)) {
          Probe taken = u->take<Probe>();
          taken.use();
        }
        return;
      case OpCode::DestroyUserdata:
        if (const AnyUserData* u = slot_as<AnyUserData>(op.a)) u->destroy();
        return;
      case OpCode::CreateCoroutine:
        if (const Function* f = slot_as<Function>(op.a)) {
          Function function = *f;
          slots_[op.b].value = handle_of(function).create_thread(function);
        }
        return;
      case OpCode::ResumeCoroutine:
        if (const Thread* t = slot_as<Thread>(op.a)) {
          Thread thread = *t;
          // Resume up to n % 8 + 1 times, collecting garbage between resumes when n is odd:
          // hook yields, a full collection, and the resume that must find the locals intact.
          for (std::uint32_t i = 0; i <= op.n % 8; ++i) {
            if (thread.status() != cxxlua::ThreadStatus::Resumable) break;
            MultiValue results = thread.resume_values(MultiValue{slots_[op.b].value});
            check_coroutine(thread, "resume_coroutine");
            if (!results.empty()) slots_[op.b].value = std::move(results.front());
            if (op.n & 1) handle_of(thread).collect_garbage();
          }
        }
        return;
      case OpCode::CloseCoroutine:
        if (const Thread* t = slot_as<Thread>(op.a)) t->close();
        return;
      case OpCode::StartAsync:
        if (const Function* f = slot_as<Function>(op.a)) {
          Function function = *f;
          calls_.push_back(std::make_unique<cxxlua::AsyncCall>(handle_of(function).async_call(function)));
        }
        return;
      case OpCode::PollAsync:
        acted_ = !calls_.empty();
        if (!calls_.empty()) poll_call(op.n % calls_.size());
        return;
      case OpCode::WakeAll:
        acted_ = true;
        for (VmState& vm : states_) {
          if (vm.host) vm.host->wake_all();
        }
        return;
      case OpCode::DropAsync:
        acted_ = !calls_.empty();
        if (!calls_.empty()) calls_.erase(calls_.begin() + static_cast<long>(op.n % calls_.size()));
        return;
      case OpCode::SetHookPlan:
        if (VmState* vm = state_at(op.state)) vm->state->set_hook(op.hook.triggers, op.hook.make_callback());
        return;
      case OpCode::RemoveHook:
        if (VmState* vm = state_at(op.state)) vm->state->remove_hook();
        return;
      case OpCode::GcCollect:
        if (VmState* vm = state_at(op.state)) vm->state->collect_garbage();
        return;
      case OpCode::GcStep:
        if (VmState* vm = state_at(op.state)) (void)vm->state->gc_step(static_cast<int>(op.n % 64));
        return;
      case OpCode::GcMode:
        if (VmState* vm = state_at(op.state)) {
          if (op.n & 1)
            vm->state->set_gc_generational();
          else
            vm->state->set_gc_incremental();
        }
        return;
      case OpCode::SetFailPlan:
        if (VmState* vm = state_at(op.state); vm != nullptr && vm->owned) op.fail.apply(*vm->allocator);
        return;
      case OpCode::ClearFailPlan:
        if (VmState* vm = state_at(op.state); vm != nullptr && vm->owned) {
          lift_limits(*vm, options_.memory_cap);
        }
        return;
      case OpCode::SetMemoryLimit:
        if (VmState* vm = state_at(op.state); vm != nullptr && vm->owned) {
          const std::size_t limit = std::min<std::size_t>(options_.memory_cap, 64 * 1024 + (op.n >> 1) * 128u);
          // Odd: the binding's own limit (StateOptions::memory_limit), even: the allocator's.
          if (op.n & 1)
            vm->state->set_memory_limit(limit);
          else
            vm->allocator->set_byte_limit(limit);
        }
        return;
      case OpCode::ThreadHook:
        // A hook of one coroutine only, set or removed (its pin must outlive neither).
        if (const Thread* t = slot_as<Thread>(op.a)) {
          if (op.n & 1) {
            t->remove_hook();
          } else {
            // Its hook pins it: recorded first (the copy may raise: a hook plan can raise
            // in the copy's protected call), removed at the end before the ledger check.
            Thread thread = *t;
            hooked_.push_back(std::move(thread));
            hooked_.back().set_hook(op.hook.triggers, op.hook.make_callback());
          }
        }
        return;
      case OpCode::ResetCoroutine:
        if (const Thread* t = slot_as<Thread>(op.a)) {
          if (const Function* f = slot_as<Function>(op.b)) {
            Thread thread = *t;
            thread.reset(*f);
          }
        }
        return;
      case OpCode::BlockOn:
        // An executor with a zero stall bound: the call finishes with what is already
        // complete, or is reported stalled; never a wait.
        acted_ = !calls_.empty();
        if (!calls_.empty()) {
          ++polls_;
          cxxlua::AsyncCall& call = *calls_[op.n % calls_.size()];
          if (!call.finished()) {
            cxxlua::Executor executor(std::chrono::milliseconds(0));
            MultiValue results = executor.block_on(call);
            if (!results.empty()) slots_[op.b].value = std::move(results.front());
          }
        }
        return;
      case OpCode::InspectUserdata:
        if (const AnyUserData* u = slot_as<AnyUserData>(op.a)) {
          slots_[op.b].value = Value((op.n & 1) ? u->is<Probe>() : u->is_destructed());
        }
        return;
      case OpCode::InspectState:
        if (VmState* vm = state_at(op.state); vm != nullptr && vm->owned) {
          check_memory_accounting(*vm->state, *vm->allocator, "inspect_state");
          slots_[op.b].value = Value(static_cast<lua_Integer>(vm->state->live_references()));
        }
        return;
      case OpCode::Count: return;
    }
  }

  Function host_function(const StateHandle& state, std::uint32_t variant) {
    switch (variant) {
      case 0: return state.create_function([](lua_Integer a, lua_Integer b) { return a + b; });
      case 1: return state.create_function([](std::string s) { return s + "!"; });
      case 2: return state.create_function([](MultiValue args) { return args; });
      case 3: return state.create_function([]() -> int { throw std::runtime_error("host function failed"); });
      case 4: return state.create_function([](Table t) { return t.raw_len(); });
      case 5: return state.create_function([](Function f, MultiValue args) { return f.call_values(args); });
      case 6:
        return state.create_function([](const Probe& p) {
          p.use();
          return p.value;
        });
      default:
        return state.create_function([](lua_Integer n) {
          MultiValue out;
          for (lua_Integer i = 0; i < n % 301; ++i) out.emplace_back(i);
          return out;
        });
    }
  }

  void poll_call(std::size_t index) {
    ++polls_;
    cxxlua::AsyncCall& call = *calls_[index];
    if (call.finished()) return;
    try {
      (void)call.poll();
    } catch (const cxxlua::Error&) {
      ++stats_.clean_errors;
    }
  }

  void between_ops() {
    for (VmState& vm : states_) {
      if (!vm.state || vm.state->is_closed()) continue;
      try {
        if (vm.owned) program_.gc.between_ops(*vm.state, stats_.ops);
      } catch (const cxxlua::Error&) {
        ++stats_.clean_errors;
      }
      if (options_.check_every_op && vm.owned)
        check_stack_at_rest(*vm.state, op_name(program_.ops[stats_.ops - 1].code));
    }
  }

  // Drives every unfinished async call to its end: a woken call must finish within the
  // bound (liveness).
  void drive_async_calls() {
    constexpr int kRounds = 256;
    for (int round = 0; round < kRounds; ++round) {
      bool unfinished = false;
      for (VmState& vm : states_) {
        if (vm.host) vm.host->wake_all();
      }
      for (std::size_t i = 0; i < calls_.size(); ++i) {
        if (calls_[i]->finished() || !calls_[i]->thread().state_alive()) continue;
        unfinished = true;
        reset_budgets();
        poll_call(i);
      }
      if (!unfinished) return;
    }
    for (const auto& call : calls_) {
      if (!call->finished() && call->thread().state_alive()) {
        violation("liveness", "async call still pending after " + std::to_string(kRounds) + " wake-and-poll rounds");
      }
    }
  }

  void close_and_check(VmState& vm, const char* after) {
    vm.allocator->disarm();
    reset_budget(vm);  // finalizers that run at close get a budget of their own
    vm.state->close();
    check_after_close(vm, after);
  }

  // Keeps a closed state's allocator and ledgers alive until the end: dead handles still
  // point at its core, and Probe objects that were taken point at its ledger.
  void retire(VmState& vm) {
    if (vm.state) retired_.push_back(std::move(vm));
    vm = VmState();
  }

  void finish() {
    // The chaos stops before the liveness check: a hook plan that yields every few lines
    // keeps a long call going one slice per poll, which is progress, not a stall.
    for (const Thread& thread : hooked_) {
      try {
        if (thread.state_alive()) thread.remove_hook();
      } catch (const cxxlua::Error&) {
        ++stats_.clean_errors;
      }
    }
    hooked_.clear();
    std::vector<VmState*> open;
    for (VmState& vm : states_) {
      if (vm.state && !vm.state->is_closed() && vm.owned) open.push_back(&vm);
    }
    for (VmState* vm : open) {
      try {
        vm->state->remove_hook();
      } catch (const cxxlua::Error&) {
        ++stats_.clean_errors;
      }
    }
    drive_async_calls();
    calls_.clear();
    stored_.clear();
    for (Slot& slot : slots_) slot.value = Value();
    for (VmState* vm : open) {
      lift_limits(*vm, vm->memory_cap);
      std::lock_guard<std::mutex> lock(vm->host->mutex);
      vm->host->stored.clear();
      vm->host->to_complete.clear();
    }
    // Collect every state before checking any ledger: an object of one state may hold a
    // handle of another (its drop, from a finalizer, is deferred to that state's next entry).
    for (int round = 0; round < 3; ++round) {
      for (VmState* vm : open) {
        try {
          vm->state->remove_hook();  // again: the first removal can fail under a fail plan
          vm->state->collect_garbage();
          (void)vm->state->create_table();
        } catch (const cxxlua::Error&) {
          ++stats_.clean_errors;
        }
      }
    }
    for (VmState* vm : open) close_and_check(*vm, "close at the end of the program");
    // After close: a userdata Lua still owned (reachable only through a cycle with a handle
    // it holds) released that handle there.
    for (VmState* vm : open) vm->references->check_none_live("every handle was dropped and the state closed");
    for (VmState& vm : retired_) {
      if (vm.state && vm.owned && !vm.state->is_closed()) close_and_check(vm, "close of a retired state");
    }
  }

  const OpProgram& program_;
  const RunOptions& options_;
  std::vector<VmState> states_;
  std::vector<VmState> retired_;
  std::array<Slot, kSlots> slots_;
  std::vector<Function> stored_;  // functions kept in a host container
  std::vector<Thread> hooked_;    // coroutines given hooks of their own
  std::vector<std::unique_ptr<cxxlua::AsyncCall>> calls_;
  RunStats stats_;
  std::uint64_t polls_ = 0;
  bool acted_ = false;
};

}  // namespace

RunStats run_program(const OpProgram& program, const RunOptions& options) {
  Runtime runtime(program, options);
  return runtime.run();
}

}  // namespace luahammer
