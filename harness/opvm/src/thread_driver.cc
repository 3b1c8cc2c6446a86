#include <luahammer/opvm/thread_driver.hpp>

#include <atomic>
#include <cstdio>
#include <latch>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <luahammer/core/oracles.hpp>
#include <luahammer/opvm/vm_host.hpp>

namespace luahammer {

std::string ThreadDriverSummary::line() const {
  char text[256];
  std::snprintf(text, sizeof text, "%llu programs, %llu ops in %.1f s (%.0f ops/s), %llu clean errors, 0 findings",
                static_cast<unsigned long long>(programs), static_cast<unsigned long long>(ops), seconds,
                ops_per_second(), static_cast<unsigned long long>(clean_errors));
  return text;
}

std::vector<OpCode> shared_state_menu() {
  std::vector<OpCode> menu;
  for (const OpInfo& info : all_op_infos()) {
    if ((info.flags & OpInfo::Owner) == 0) menu.push_back(info.code);  // owner ops belong to the state's owner
  }
  return menu;
}

ThreadDriverSummary run_thread_driver(const ThreadDriverOptions& options) {
  install_terminate_handler();
  VmState shared;
  RunOptions run = options.run;
  ProgramOptions program = options.program;
  if (options.shared_state) {
    shared = make_vm_state(true, run.memory_cap * static_cast<std::size_t>(options.threads), run.instruction_budget);
    run.shared_state = shared.state;
    run.shared_host = shared.host;
    run.shared_instructions = shared.instructions;
    program.max_states = 1;
    if (program.menu.empty()) program.menu = shared_state_menu();
  }
  std::unique_ptr<Watchdog> own_watchdog;
  if (options.external_watchdog == nullptr) own_watchdog = std::make_unique<Watchdog>(options.watchdog);
  Watchdog& watchdog = options.external_watchdog != nullptr ? *options.external_watchdog : *own_watchdog;
  std::atomic<std::uint64_t> programs{0};
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> errors{0};
  std::latch start(options.threads + 1);
  const auto began = std::chrono::steady_clock::now();
  const auto deadline = began + std::chrono::duration<double>(options.seconds);
  std::vector<std::thread> workers;
  for (int w = 0; w < options.threads; ++w) {
    const int id = watchdog.add_worker("worker " + std::to_string(w));
    workers.emplace_back([&, w, id] {
      std::mt19937_64 rng(options.seed * 1000003u + static_cast<std::uint64_t>(w));
      RunOptions mine = run;
      mine.on_op = [&watchdog, id](const Op& op) { watchdog.progress(id, op_name(op.code)); };
      start.arrive_and_wait();
      for (std::uint64_t i = 0; options.iterations == 0 || i < options.iterations; ++i) {
        if (options.seconds > 0 && std::chrono::steady_clock::now() >= deadline) break;
        const std::vector<std::uint8_t> bytes = random_program(rng, program, options.program_bytes);
        const OpProgram decoded = OpProgram::decode(bytes.data(), bytes.size(), program);
        const RunStats stats = run_program(decoded, mine);
        programs.fetch_add(1);
        ops.fetch_add(stats.ops);
        errors.fetch_add(stats.clean_errors);
        watchdog.progress(id, "between programs");
      }
      watchdog.progress(id, "done");
    });
  }
  start.arrive_and_wait();
  for (auto& worker : workers) worker.join();
  if (own_watchdog) own_watchdog->stop();
  if (options.shared_state) {
    // The owner checks the shared state's ledgers once every worker is done.
    check_and_close(shared, "every worker dropped its handles");
  }
  ThreadDriverSummary summary;
  summary.programs = programs.load();
  summary.ops = ops.load();
  summary.clean_errors = errors.load();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return summary;
}

}  // namespace luahammer
