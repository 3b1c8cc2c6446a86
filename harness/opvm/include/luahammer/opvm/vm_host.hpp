// What the op-program VM puts into a state: the tracked userdata types (Probe, whose
// life cycle goes to a FinalizerLedger; Fragile, whose constructor throws for odd
// values), the `host` table of host functions generated programs call, and the state's
// allocator, reference ledger and instruction budget.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <vector>

#include <cxxlua/cxxlua.hpp>

#include <luahammer/core/fault_allocator.hpp>
#include <luahammer/opvm/binding_oracles.hpp>
#include <luahammer/opvm/shape_coverage.hpp>

namespace luahammer {

// a + b as Lua computes it for integers: wrapping around (no undefined overflow).
inline lua_Integer wrapping_add(lua_Integer a, lua_Integer b) {
  return static_cast<lua_Integer>(static_cast<lua_Unsigned>(a) + static_cast<lua_Unsigned>(b));
}

// The chunk name of the one snippet allowed to fail host.check (a self-check of Lua's
// own semantics under hooks); the sandbox never gives a loaded chunk this name.
inline constexpr const char* kSelfCheckChunk = "=self-check";

struct HostContext {
  std::mutex mutex;
  FinalizerLedger finalizers;
  std::vector<cxxlua::Function> stored;  // host.store: functions kept in a host container
  std::vector<std::shared_ptr<cxxlua::Completion<lua_Integer>>> pending;  // host.fetch
  std::vector<std::pair<std::shared_ptr<cxxlua::Completion<lua_Integer>>, lua_Integer>> to_complete;
  // Completes every pending host.fetch (their wakers fire).
  void wake_all();
};

struct Probe {
  Probe(FinalizerLedger* ledger, lua_Integer value);
  Probe(Probe&& other) noexcept;
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;
  Probe& operator=(Probe&&) = delete;
  ~Probe();
  void use() const { ledger->used(id); }
  FinalizerLedger* ledger;
  std::uint64_t id;
  lua_Integer value;
  lua_Integer extra = 0;    // written through the type's __newindex fallback
  cxxlua::Function stored;  // a stored function inside a userdata (mlua #423)
};

struct Fragile {
  Fragile(FinalizerLedger* ledger, lua_Integer value);  // throws for odd values
  Probe inner;
};

// One state of the VM, with everything that must outlive it declared before it.
struct VmState {
  std::unique_ptr<FaultAllocator> allocator;
  std::unique_ptr<ReferenceLedger> references;
  std::shared_ptr<HostContext> host;
  std::shared_ptr<std::atomic<std::uint64_t>> instructions;  // count-hook ticks in the current op
  std::uint64_t instruction_ticks_allowed = 0;
  std::size_t memory_cap = 0;  // bytes; kept while the state closes
  std::shared_ptr<cxxlua::State> state;
  bool owned = true;  // false: shared with other workers, not closed or checked here
};

// The core sandbox (core/sandbox.hpp) through cxxlua: the options of a sandboxed state
// (the safe libraries; the caller may add an allocator, a limit, thread safety) and the
// sandbox script run through the binding's own exec.
cxxlua::StateOptions sandbox_options();
void apply_sandbox(const cxxlua::StateHandle& state);

// A fresh instruction budget (ticks and allocation churn) for the next op or call.
void reset_budget(VmState& vm);

// Allocation failure off, the allocator's byte limit back to `byte_limit` (0: none), the
// binding's own memory limit off: what every check and every clear starts from.
void lift_limits(VmState& vm, std::size_t byte_limit = 0);

// Builds a VM state (as make_vm_state) under an allocation limit of `limit` bytes, which
// may be too small: construction then fails part-way. Either way the state is closed and
// every byte must come back (a failed constructor that leaks is a finding). True if the
// lua_State was created (the later steps may still have failed).
bool build_under_limit(std::size_t limit, std::uint64_t instruction_budget);

// A sandboxed state with the host API; instruction budget in count-hook ticks of 1000.
VmState make_vm_state(bool thread_safe, std::size_t memory_cap, std::uint64_t instruction_budget);
void register_vm_types(const cxxlua::StateHandle& state);
// The end of an owned state's life, with every ledger checked: drops what the host holds,
// collects (finalizers may defer drops; the next entry releases them), checks the stack at
// rest, closes, checks memory and finalizers, then that no reference is live.
void check_and_close(VmState& vm, const char* what);
// Drops the functions the host stores for Lua (host.store) and its pending completions. At
// the end of a state, before each collection and once more after: a finalizer a collection
// runs may store a new one, which nothing else would drop before the ledger check.
void drop_host_handles(VmState& vm);
// The checks after a state is closed: every byte returned, every object destroyed once,
// no object freed by Lua without a finalizer call it reported failing.
void check_after_close(VmState& vm, const char* what);
void describe_probe(cxxlua::UserDataBuilder<Probe>& t);
// The shape table's marks for a call into the binding made from inside Lua (issue 21):
// `entry`'s row gets where Lua called from and the arguments' kinds and count; the host
// function's body then runs under with_outcome (shape_coverage.hpp).
void note_from_lua(ShapeEntry entry, const cxxlua::StateHandle& state, const cxxlua::MultiValue& args);
void note_from_lua(ShapeEntry entry, const cxxlua::StateHandle& state, std::initializer_list<int> kinds);
// A first argument of a known kind (the slot, the function) before the caller's values.
void note_from_lua(ShapeEntry entry, const cxxlua::StateHandle& state, int first_kind, const cxxlua::MultiValue& rest);
// f.call_values(args) from a host function, marking the CallFromHost row.
cxxlua::MultiValue call_from_host(const cxxlua::StateHandle& state, const cxxlua::Function& f,
                                  const cxxlua::MultiValue& args);
void describe_fragile(cxxlua::UserDataBuilder<Fragile>& t);

}  // namespace luahammer

namespace cxxlua {
// First use through create_userdata registers these types with their methods.
template <>
struct UserDataTraits<luahammer::Probe> {
  static const char* name() { return "Probe"; }
  static void describe(UserDataBuilder<luahammer::Probe>& t) { luahammer::describe_probe(t); }
};
template <>
struct UserDataTraits<luahammer::Fragile> {
  static const char* name() { return "Fragile"; }
  static void describe(UserDataBuilder<luahammer::Fragile>& t) { luahammer::describe_fragile(t); }
};
}  // namespace cxxlua
