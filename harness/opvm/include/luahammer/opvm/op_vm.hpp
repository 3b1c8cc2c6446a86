// The op-program VM: decodes bytes (FuzzedDataProvider) into a program of ops on the
// binding core over a set of live slots (states, handles, host-stored functions, userdata
// of tracked types, coroutines, async calls), runs it with the oracles checked after
// every op, then drops everything, closes the states and checks the ledgers balance.
// A decoded program prints as readable text (explain), so a minimized crash reads as a
// story. Deterministic: same bytes, same program, same run.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <cxxlua/cxxlua.hpp>

#include <luahammer/core/chaos.hpp>
#include <luahammer/core/wire.hpp>
#include <luahammer/core/lua_generator.hpp>

namespace luahammer {

// Each op's wire code, name, payload and executor: one row of ops.def.
enum class OpCode : std::uint8_t {
#define LUAHAMMER_OP(code, Name, name, payload, flags, detail, feature) Name = code,
#include <luahammer/opvm/ops.def>
#undef LUAHAMMER_OP
};
inline constexpr std::size_t kOpCodeSpace = 128;  // a record's code byte, top bit ignored

struct Op {
  OpCode code = OpCode::CreateState;
  std::uint8_t state = 0;            // which state slot
  std::uint8_t a = 0;                // value slot / variant
  std::uint8_t b = 0;                // second slot / variant
  std::uint32_t n = 0;               // a number operand
  std::vector<std::uint8_t> source;  // LoadGenerated: the generator's bytes
  std::string text;                  // LoadGenerated: the Lua source they generate
  HookPlan hook;
  FailPlan fail;
};

class Runtime;
struct OpInfo {
  enum Payload : std::uint8_t { Operands, Generated, Hook, Fail };
  enum Flags : unsigned { None = 0, Creator = 1, Owner = 2 };
  OpCode code;
  const char* name;
  Payload payload;
  unsigned flags;
  void (*execute)(Runtime&, const Op&);
  std::string (*detail)(const Op&);   // explain's note on the op, or nullptr
  std::string (*feature)(const Op&);  // the variant its operands select, or nullptr
};
// Every op, in table order; the row of a code (nullptr for a free code).
const std::vector<OpInfo>& all_op_infos();
const OpInfo* op_info(OpCode code) noexcept;
const OpInfo* op_info_of_wire(std::uint8_t byte) noexcept;
const char* op_name(OpCode code) noexcept;
// LoadSnippet's operand n names a snippet by its wire code (n % kSnippetCodeSpace); a code
// no snippet has loads nothing. "" for such a code.
inline constexpr std::uint32_t kSnippetCodeSpace = 64;
const char* snippet_name(std::uint32_t n) noexcept;
// The byte limit CreateState's throwaway variant (b & 2) builds a state under, 1 to 33 KiB.
constexpr std::size_t tight_state_limit(std::uint32_t n) noexcept { return 1024 + (n % 64) * 512; }

struct ProgramOptions {
  std::size_t max_ops = 48;
  std::size_t max_states = 2;
  bool thread_safe_states = true;  // CreateState may ask for a thread-safe state
  // The ops this program draws from; empty: all of them. Targets concentrate here.
  std::vector<OpCode> menu;
  bool leading_hook_plan = false;  // op 1 sets a hook plan decoded from the input
  GeneratorOptions generator{12, 2, 4, true};
};

// The input format (docs/op-programs.md): a header, then one record per op.
//   input  := header-length:u8 header record*
//   header := the GC plan, then (targets with a leading hook plan) that hook plan
//   record := code:u8 length:u8 payload[length]
//   payload:= state:u8 a:u8 b:u8 n:u16le, then what the op's payload kind carries
// A record whose code is no op's, or an op outside the target's menu, is skipped whole:
// adding an op (a new code) never changes what the other records of an input mean.
struct OpProgram {
  GcPlan gc;
  std::vector<Op> ops;  // with a leading hook plan, ops[0] is its SetHookPlan
  std::string explain() const;
  static OpProgram decode(const std::uint8_t* data, std::size_t size, const ProgramOptions& options = {});
  // Bytes that decode (with the same options) to this program.
  std::vector<std::uint8_t> encode(const ProgramOptions& options = {}) const;
};

// A target's menu as drawn from: its ops in code order, creators (CreateState and the ops
// that make values) one time in three so programs have something to act on.
struct OpMenu {
  std::vector<const OpInfo*> ops;
  std::vector<const OpInfo*> creators;
  explicit OpMenu(const ProgramOptions& options);
  const OpInfo* draw(std::mt19937_64& rng) const;  // null for an empty menu
};
// Appends one record of `info` with random operands and payload.
void random_record(std::mt19937_64& rng, const OpInfo& info, std::vector<std::uint8_t>& out);
// Random records of the menu's ops until `bytes` bytes or the op limit: what drivers,
// tools, tests and the mutator's record insertion use when they do not read fuzz input.
std::vector<std::uint8_t> random_program(std::mt19937_64& rng, const ProgramOptions& options, std::size_t bytes);
// Appends up to `max_ops` random records (chained as random_program chains them, the first
// to the program's last record) to an encoded program while it is shorter than `bytes`: a
// program grown by a few ops. Half of them are drawn from `preferred` (those of the menu),
// one in three of those right after a fail_soon, on the state and a slot of the op before.
void append_random_records(std::mt19937_64& rng, const ProgramOptions& options, std::vector<std::uint8_t>& out,
                           std::size_t max_ops, std::size_t bytes, const std::vector<OpCode>& preferred);

struct RunOptions {
  std::uint64_t instruction_budget = 200000;  // per Lua entry, via a count hook
  std::size_t memory_cap = 16 * 1024 * 1024;  // per state, bytes
  std::uint64_t op_budget = 4096;             // liveness: ops + async polls per program
  bool check_every_op = true;
  // A state shared with other workers (thread driver): used as state slot 0; the program
  // neither closes it nor checks its ledgers (the owner does).
  std::shared_ptr<cxxlua::State> shared_state;
  std::shared_ptr<struct HostContext> shared_host;
  std::shared_ptr<std::atomic<std::uint64_t>> shared_instructions;
  // Called before each op (the thread driver's watchdog hears progress through it).
  std::function<void(const Op&)> on_op;
};

struct RunStats {
  std::uint64_t ops = 0;
  std::uint64_t clean_errors = 0;  // binding errors the ops turned into Error: expected
  std::uint64_t idle_ops = 0;      // ops that found nothing to act on
};

// Runs the program; a violated invariant aborts (or goes to the violation handler).
RunStats run_program(const OpProgram& program, const RunOptions& options = {});

}  // namespace luahammer
