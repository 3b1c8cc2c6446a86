#include <luahammer/opvm/op_vm.hpp>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdio>

#include <luahammer/core/random_bytes.hpp>

#include <luahammer/opvm/shape_coverage.hpp>

#include "runtime.hpp"

namespace luahammer {

// ------------------------------------------------------------------------ the op table

const std::vector<OpInfo>& all_op_infos() {
  using enum OpInfo::Payload;
  using enum OpInfo::Flags;
  static const std::vector<OpInfo> infos = {
#define LUAHAMMER_OP(code, Name, name, payload, flags, detail, feature) \
  {OpCode::Name, #name, payload, flags, &ops::name, detail, feature},
#include <luahammer/opvm/ops.def>
#undef LUAHAMMER_OP
  };
  return infos;
}

namespace {

// The row of each wire code, checked once: codes in range and unique.
const std::array<const OpInfo*, kOpCodeSpace>& code_table() {
  static const std::array<const OpInfo*, kOpCodeSpace> table = [] {
    std::array<const OpInfo*, kOpCodeSpace> t{};
    for (const OpInfo& info : all_op_infos()) {
      const auto code = static_cast<std::size_t>(info.code);
      if (code >= kOpCodeSpace || t[code] != nullptr) {
        std::fprintf(stderr, "luahammer: ops.def: code %zu of %s is out of range or taken twice\n", code, info.name);
        std::abort();
      }
      t[code] = &info;
    }
    return t;
  }();
  return table;
}

}  // namespace

const OpInfo* op_info_of_wire(std::uint8_t byte) noexcept { return code_table()[byte % kOpCodeSpace]; }
const OpInfo* op_info(OpCode code) noexcept { return op_info_of_wire(static_cast<std::uint8_t>(code)); }

const char* op_name(OpCode code) noexcept {
  const OpInfo* info = op_info(code);
  return info != nullptr ? info->name : "?";
}

// ----------------------------------------------------------------- decoding, encoding

namespace {

std::bitset<kOpCodeSpace> menu_of(const ProgramOptions& options) {
  std::bitset<kOpCodeSpace> menu;
  if (options.menu.empty()) {
    for (const OpInfo& info : all_op_infos()) menu.set(static_cast<std::size_t>(info.code));
  } else {
    for (OpCode code : options.menu) menu.set(static_cast<std::size_t>(code));
  }
  return menu;
}

std::size_t state_count(const ProgramOptions& options) { return std::max<std::size_t>(1, options.max_states); }

// The operands every record starts with, then what its payload kind carries.
Op decode_record(const OpInfo& info, ByteReader& in, const ProgramOptions& options) {
  Op op;
  op.code = info.code;
  op.state = static_cast<std::uint8_t>(in.byte() % state_count(options));
  op.a = static_cast<std::uint8_t>(in.byte() % kSlots);
  op.b = static_cast<std::uint8_t>(in.byte() % kSlots);
  op.n = in.ConsumeIntegral<std::uint16_t>();
  switch (info.payload) {
    case OpInfo::Operands: break;
    case OpInfo::Generated:
      op.source = in.ConsumeBytes(in.remaining_bytes());
      op.text = generate_lua_program(op.source.data(), op.source.size(), options.generator);
      break;
    case OpInfo::Hook: op.hook = HookPlan::decode(in); break;
    case OpInfo::Fail: op.fail = FailPlan::decode(in); break;
  }
  if (op.code == OpCode::CreateState && !options.thread_safe_states) op.b &= ~1u;
  return op;
}

void encode_record(const Op& op, ByteWriter& out) {
  const OpInfo* info = op_info(op.code);
  ByteWriter payload;
  payload.bytes = {op.state, op.a, op.b};
  payload.put<std::uint16_t>(static_cast<std::uint16_t>(op.n));
  switch (info->payload) {
    case OpInfo::Operands: break;
    case OpInfo::Generated: payload.put_bytes(op.source); break;
    case OpInfo::Hook: op.hook.encode(payload); break;
    case OpInfo::Fail: op.fail.encode(payload); break;
  }
  if (payload.bytes.size() > 255) payload.bytes.resize(255);
  out.bytes.push_back(static_cast<std::uint8_t>(op.code));
  out.bytes.push_back(static_cast<std::uint8_t>(payload.bytes.size()));
  out.put_bytes(payload.bytes);
}

}  // namespace

OpProgram OpProgram::decode(const std::uint8_t* bytes, std::size_t size, const ProgramOptions& options) {
  ByteReader data(bytes, size);
  OpProgram program;
  const std::vector<std::uint8_t> header_bytes = data.ConsumeBytes(data.byte());
  ByteReader header(header_bytes.data(), header_bytes.size());
  program.gc = GcPlan::decode(header);
  if (options.leading_hook_plan) {
    Op op;
    op.code = OpCode::SetHookPlan;
    op.hook = HookPlan::decode(header);
    program.ops.push_back(std::move(op));
  }
  const std::bitset<kOpCodeSpace> menu = menu_of(options);
  while (data.remaining_bytes() > 0 && program.ops.size() < options.max_ops) {
    const std::uint8_t code = data.byte();
    const std::vector<std::uint8_t> payload = data.ConsumeBytes(data.byte());
    const OpInfo* info = op_info_of_wire(code);
    if (info == nullptr || !menu.test(static_cast<std::size_t>(info->code))) continue;  // skipped whole
    ByteReader in(payload.data(), payload.size());
    program.ops.push_back(decode_record(*info, in, options));
  }
  return program;
}

std::vector<std::uint8_t> OpProgram::encode(const ProgramOptions& options) const {
  ByteWriter header;
  gc.encode(header);
  std::size_t first = 0;
  if (options.leading_hook_plan && !ops.empty()) {
    ops.front().hook.encode(header);
    first = 1;
  }
  ByteWriter out;
  out.bytes.push_back(static_cast<std::uint8_t>(header.bytes.size()));
  out.put_bytes(header.bytes);
  for (std::size_t i = first; i < ops.size(); ++i) encode_record(ops[i], out);
  return out.bytes;
}

OpMenu::OpMenu(const ProgramOptions& options) {
  const std::bitset<kOpCodeSpace> allowed = menu_of(options);
  for (const OpInfo& info : all_op_infos()) {
    if (!allowed.test(static_cast<std::size_t>(info.code))) continue;
    ops.push_back(&info);
    if ((info.flags & OpInfo::Creator) != 0) creators.push_back(&info);
  }
}

const OpInfo* OpMenu::draw(std::mt19937_64& rng) const {
  if (ops.empty()) return nullptr;
  const bool creator = !creators.empty() && rng() % 3 == 0;
  return creator ? creators[rng() % creators.size()] : ops[rng() % ops.size()];
}

void random_record(std::mt19937_64& rng, const OpInfo& info, std::vector<std::uint8_t>& out) {
  std::size_t length = 5;
  switch (info.payload) {
    case OpInfo::Operands: break;
    case OpInfo::Generated: length += rng() % 97; break;
    case OpInfo::Hook: length += 12; break;
    case OpInfo::Fail: length += 24; break;
  }
  out.push_back(static_cast<std::uint8_t>(info.code));
  out.push_back(static_cast<std::uint8_t>(length));
  const std::vector<std::uint8_t> payload = random_bytes(rng, length);
  out.insert(out.end(), payload.begin(), payload.end());
}

void append_random_records(std::mt19937_64& rng, const ProgramOptions& options, std::vector<std::uint8_t>& out,
                           std::size_t max_ops, std::size_t bytes, const std::vector<OpCode>& preferred) {
  const OpMenu menu(options);
  std::vector<const OpInfo*> prefer;
  for (const OpInfo* info : menu.ops)
    if (std::find(preferred.begin(), preferred.end(), info->code) != preferred.end()) prefer.push_back(info);
  // Half the records take their first slot from the record before (its first or second
  // slot): chains such as load a snippet, make a coroutine of it, resume it, close it,
  // which independent slots (one in eight) rarely line up. The first record appended to a
  // program chains to the program's last record.
  std::size_t previous = 0;  // where the previous record's payload starts; 0: none yet
  if (!out.empty()) {
    for (std::size_t at = 1 + std::size_t{out[0]}; at + 2 < out.size(); at += 2 + std::size_t{out[at + 1]})
      previous = at + 2;
  }
  const OpInfo* fail_soon = nullptr;
  for (const OpInfo* info : menu.ops)
    if (info->code == OpCode::FailSoon) fail_soon = info;
  for (std::size_t ops = 0; ops < max_ops && out.size() < bytes; ++ops) {
    const bool preferring = !prefer.empty() && rng() % 2 == 0;
    const OpInfo* info = preferring ? prefer[rng() % prefer.size()] : menu.draw(rng);
    if (info == nullptr) break;
    if (preferring && fail_soon != nullptr && previous != 0 && rng() % 3 == 0) {
      // One preferred op in three runs with an allocation failing soon inside it (the
      // memory-error outcomes), on the state and slot of the op before the failure.
      const std::size_t failing = out.size() + 2;
      random_record(rng, *fail_soon, out);
      out[failing] = out[previous];
      const std::size_t start = out.size() + 2;
      random_record(rng, *info, out);
      out[start] = out[previous];
      out[start + 1] = out[previous + 1 + rng() % 2];
      previous = start;
      continue;
    }
    const std::size_t start = out.size() + 2;
    random_record(rng, *info, out);
    if (previous != 0 && rng() % 2 == 0) out[start + 1] = out[previous + 1 + rng() % 2];
    previous = start;
  }
}

std::vector<std::uint8_t> random_program(std::mt19937_64& rng, const ProgramOptions& options, std::size_t bytes) {
  ByteWriter out;
  out.bytes.push_back(16);
  out.put_bytes(random_bytes(rng, 16));
  append_random_records(rng, options, out.bytes, options.max_ops, bytes, {});
  return out.bytes;
}

std::string OpProgram::explain() const {
  std::string out = "# " + std::to_string(ops.size()) + " ops; " + gc.describe() + "\n";
  int i = 0;
  for (const Op& op : ops) {
    const OpInfo* info = op_info(op.code);
    char head[160];
    std::snprintf(head, sizeof head, "%3d %-20s state=%u a=%u b=%u n=%u", ++i, info->name, op.state, op.a, op.b, op.n);
    out += head;
    if (info->detail != nullptr) out += info->detail(op);
    out += "\n";
    if (info->payload == OpInfo::Generated) out += "    --[[ generated program\n" + op.text + "    ]]\n";
  }
  return out;
}

// ------------------------------------------------------------------------ the runtime

Runtime::Runtime(const OpProgram& program, const RunOptions& options) : program(program), options(options) {
  std::size_t max_state = 0;
  for (const Op& op : program.ops) max_state = std::max<std::size_t>(max_state, op.state);
  states.resize(max_state + 1);
  if (options.shared_state) {
    states[0].state = options.shared_state;
    states[0].host = options.shared_host;
    states[0].instructions = options.shared_instructions;
    states[0].owned = false;
  } else {
    // Every program starts with a live state 0: most ops need one.
    states[0] = fresh_state(false);
  }
}

RunStats Runtime::run() {
  for (const Op& op : program.ops) {
    if (options.on_op) options.on_op(op);
    ++stats.ops;
    check_op_budget(stats.ops + polls, options.op_budget);
    execute(op);
    between_ops();
  }
  finish();
  return stats;
}

VmState* Runtime::state_at(std::size_t index) {
  for (std::size_t i = 0; i < states.size(); ++i) {
    VmState& vm = states[(index + i) % states.size()];
    if (!vm.state || vm.state->is_closed()) continue;
    reset_budget(vm);  // a fresh instruction budget for this op
    acted = true;
    return &vm;
  }
  // Every state is closed: open a fresh one where the op points (handles of the closed
  // states stay in their slots, dead, for the ops that use them after close).
  VmState& vm = states[index % states.size()];
  if (!vm.owned) return nullptr;
  retire(vm);
  vm = fresh_state(false);
  acted = true;
  return &vm;
}

VmState Runtime::fresh_state(bool thread_safe) {
  VmState vm = make_vm_state(thread_safe, options.memory_cap, options.instruction_budget);
  apply_gc_mode(program.gc, *vm.state);
  return vm;
}

void Runtime::reset_budgets() {
  for (VmState& vm : states) reset_budget(vm);
}

void Runtime::execute(const Op& op) {
  reset_budgets();
  acted = false;
  outcome_noted = false;
  try {
    op_info(op.code)->execute(*this, op);
    if (!acted) ++stats.idle_ops;
    if (acted && !outcome_noted) note_shape(op, ShapeDim::Outcome, kOutcomeOk);
  } catch (const cxxlua::Error& e) {
    ++stats.clean_errors;
    note_shape(op, ShapeDim::Outcome, shape_outcome_of(&e));
  } catch (const std::exception& e) {
    ++stats.clean_errors;  // e.g. a Fragile constructor refusing a value
    note_shape(op, ShapeDim::Outcome, shape_outcome_of(&e));
  }
}

void Runtime::poll_call(std::size_t index) {
  ++polls;
  cxxlua::AsyncCall& call = *calls[index];
  if (call.finished()) return;
  try {
    (void)call.poll();
  } catch (const cxxlua::Error& e) {
    ++stats.clean_errors;
    note_shape(ShapeEntry::AsyncPoll, ShapeDim::Outcome, shape_outcome_of(&e));
    outcome_noted = true;
  }
}

void Runtime::between_ops() {
  for (VmState& vm : states) {
    if (!vm.state || vm.state->is_closed()) continue;
    try {
      if (vm.owned) gc_between_ops(program.gc, *vm.state, stats.ops);
    } catch (const cxxlua::Error&) {
      ++stats.clean_errors;
    }
    if (options.check_every_op && vm.owned) check_stack_at_rest(*vm.state, op_name(program.ops[stats.ops - 1].code));
  }
}

// Drives every unfinished async call to its end: a woken call must finish within the
// bound (liveness).
void Runtime::drive_async_calls() {
  constexpr int kRounds = 256;
  for (int round = 0; round < kRounds; ++round) {
    bool unfinished = false;
    for (VmState& vm : states) {
      if (vm.host) vm.host->wake_all();
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (calls[i]->finished() || !calls[i]->thread().state_alive()) continue;
      unfinished = true;
      reset_budgets();
      poll_call(i);
    }
    if (!unfinished) return;
  }
  for (const auto& call : calls) {
    if (!call->finished() && call->thread().state_alive()) {
      violation("liveness", "async call still pending after " + std::to_string(kRounds) + " wake-and-poll rounds");
    }
  }
}

void Runtime::close_and_check(VmState& vm, const char* after) {
  vm.allocator->disarm();
  reset_budget(vm);  // finalizers that run at close get a budget of their own
  vm.state->close();
  check_after_close(vm, after);
}

void Runtime::retire(VmState& vm) {
  if (vm.state) retired.push_back(std::move(vm));
  vm = VmState();
}

void Runtime::finish() {
  // The chaos stops before the liveness check: a hook plan that yields every few lines
  // keeps a long call going one slice per poll, which is progress, not a stall.
  for (const cxxlua::Thread& thread : hooked) {
    try {
      if (thread.state_alive()) thread.remove_hook();
    } catch (const cxxlua::Error&) {
      ++stats.clean_errors;
    }
  }
  hooked.clear();
  std::vector<VmState*> open;
  for (VmState& vm : states) {
    if (vm.state && !vm.state->is_closed() && vm.owned) open.push_back(&vm);
  }
  for (VmState* vm : open) {
    try {
      vm->state->remove_hook();
    } catch (const cxxlua::Error&) {
      ++stats.clean_errors;
    }
  }
  drive_async_calls();
  calls.clear();
  stored.clear();
  for (cxxlua::Value& slot : slots) slot = cxxlua::Value();
  for (VmState* vm : open) lift_limits(*vm, vm->memory_cap);
  // Collect every state before checking any ledger: an object of one state may hold a
  // handle of another (its drop, from a finalizer, is deferred to that state's next entry).
  // The host's stored functions are dropped before each round and after the last: a
  // finalizer may store one.
  for (int round = 0; round < 3; ++round) {
    for (VmState* vm : open) {
      drop_host_handles(*vm);
      try {
        vm->state->remove_hook();  // again: the first removal can fail under a fail plan
        vm->state->collect_garbage();
        (void)vm->state->create_table();
      } catch (const cxxlua::Error&) {
        ++stats.clean_errors;
      }
    }
  }
  for (VmState* vm : open) drop_host_handles(*vm);
  for (VmState* vm : open) close_and_check(*vm, "close at the end of the program");
  // After close: a userdata Lua still owned (reachable only through a cycle with a handle
  // it holds) released that handle there.
  for (VmState* vm : open) vm->references->check_none_live("every handle was dropped and the state closed");
  for (VmState& vm : retired) {
    if (vm.state && vm.owned && !vm.state->is_closed()) close_and_check(vm, "close of a retired state");
  }
}

RunStats run_program(const OpProgram& program, const RunOptions& options) {
  Runtime runtime(program, options);
  return runtime.run();
}

}  // namespace luahammer
