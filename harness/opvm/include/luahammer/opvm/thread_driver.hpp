// Thread driver: N workers start together at a barrier; each runs seeded op programs,
// on its own states or all on one shared thread-safe state, while a watchdog turns a
// stall into a report. The same op programs the fuzzers run, so a driver's finding
// replays through the same VM.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <luahammer/opvm/op_vm.hpp>

namespace luahammer {

struct ThreadDriverOptions {
  int threads = 4;
  std::uint64_t iterations = 50;  // programs per worker (0: until `seconds`)
  double seconds = 0;             // wall-clock bound (0: until `iterations`)
  std::uint64_t seed = 1;
  bool shared_state = false;  // every worker on one thread-safe state
  std::chrono::milliseconds watchdog{10000};
  std::size_t program_bytes = 512;
  class Watchdog* external_watchdog = nullptr;  // report progress here, not to a watchdog of its own
  ProgramOptions program;
  RunOptions run;
};

struct ThreadDriverSummary {
  std::uint64_t programs = 0;
  std::uint64_t ops = 0;
  std::uint64_t clean_errors = 0;
  double seconds = 0;
  double ops_per_second() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  std::string line() const;  // "N programs, M ops in S s (R ops/s), E clean errors, 0 findings"
};

// Runs the workers; a finding aborts with its oracle's report (so returning means clean).
ThreadDriverSummary run_thread_driver(const ThreadDriverOptions& options);

// The ops that make sense on a state other workers share (no close, no allocator plans).
std::vector<OpCode> shared_state_menu();

}  // namespace luahammer
