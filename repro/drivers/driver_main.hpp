// The command-line shell shared by the concurrent repro drivers: flags from
// driver_flags.def, a watchdog, a summary line, exit 0 only when clean, usage and exit 2
// on bad arguments. A driver provides its name, a one-line description and run().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <luahammer/core/oracles.hpp>

namespace luahammer::repro {

struct DriverOptions {
#define DRIVER_FLAG(name, type, default_value, min, max, help) type name = default_value;
#include "driver_flags.def"
#undef DRIVER_FLAG
};

struct DriverProgress {
  Watchdog* watchdog = nullptr;
  std::atomic<std::uint64_t> iterations{0};
  std::atomic<std::uint64_t> operations{0};
  std::atomic<std::uint64_t> clean_errors{0};
  // True while the run may go on (iteration and time bounds).
  bool keep_going(const DriverOptions& options, std::uint64_t worker_iteration) const;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct Driver {
  const char* name;
  const char* description;
  std::function<void(const DriverOptions&, DriverProgress&)> run;
};

// Parses argv into options; on a bad argument prints one error line and the usage and
// returns false with *exit_code = 2 (--help: usage, *exit_code = 0).
bool parse_driver_flags(const Driver& driver, int argc, char** argv, DriverOptions& options, int* exit_code);
// Runs the driver under a watchdog and prints "<name>: N iterations, M ops in S s (R
// iterations/s), E clean errors, 0 findings". A finding aborts with its oracle's report.
int run_driver(const Driver& driver, const DriverOptions& options);
int driver_main(const Driver& driver, int argc, char** argv);

}  // namespace luahammer::repro
