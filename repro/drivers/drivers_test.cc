// Each concurrent repro driver, in a bounded configuration, runs clean on the correct
// core (ctest label repro; TSan under the tsan preset, ASan under asan).
#include <gtest/gtest.h>

#include <string>

#include "drivers.hpp"

namespace luahammer::repro {
namespace {

DriverOptions Bounded(int threads, long iterations) {
  DriverOptions options;
  options.threads = threads;
  options.iterations = iterations;
  options.seed = 7;
  return options;
}

TEST(ReproDrivers, ParallelHookedStates) { EXPECT_EQ(run_driver(parallel_hooked_states(), Bounded(4, 20)), 0); }
TEST(ReproDrivers, SharedState) { EXPECT_EQ(run_driver(shared_state(), Bounded(4, 10)), 0); }
TEST(ReproDrivers, StoredFunctionLifetime) { EXPECT_EQ(run_driver(stored_function_lifetime(), Bounded(4, 8)), 0); }
TEST(ReproDrivers, RetryFinalization) { EXPECT_EQ(run_driver(retry_finalization(), Bounded(4, 4)), 0); }
TEST(ReproDrivers, AsyncPending) { EXPECT_EQ(run_driver(async_pending(), Bounded(4, 6)), 0); }

TEST(ReproDrivers, BadArgumentsGiveUsageAndExitTwo) {
  DriverOptions options;
  int exit_code = -1;
  char name[] = "driver";
  char bad[] = "--threads=many";
  char* argv[] = {name, bad};
  EXPECT_FALSE(parse_driver_flags(shared_state(), 2, argv, options, &exit_code));
  EXPECT_EQ(exit_code, 2);
  char unknown[] = "--colour=blue";
  char* argv2[] = {name, unknown};
  EXPECT_FALSE(parse_driver_flags(shared_state(), 2, argv2, options, &exit_code));
  EXPECT_EQ(exit_code, 2);
  char good[] = "--threads=3";
  char seconds[] = "--seconds";
  char two[] = "2";
  char* argv3[] = {name, good, seconds, two};
  EXPECT_TRUE(parse_driver_flags(shared_state(), 4, argv3, options, &exit_code));
  EXPECT_EQ(options.threads, 3);
  EXPECT_DOUBLE_EQ(options.seconds, 2.0);
  EXPECT_EQ(options.iterations, 0);  // --seconds alone: run for that long, not 200 iterations
}

// Values outside a flag's stated range are refused, never wrapped or run: 2^32 + 1 threads
// once became 1, 100,000 threads or a watchdog of 0 ms gave false findings.
TEST(ReproDrivers, OutOfRangeValuesAreRefused) {
  char name[] = "driver";
  for (const char* text :
       {"--threads=4294967297", "--threads=100000", "--threads=0", "--watchdog_ms=0", "--iterations=-1",
        "--seconds=nan", "--seconds=1e9", "--seed=99999999999999999999", "--threads=2x"}) {
    DriverOptions options;
    int exit_code = -1;
    std::string arg = text;
    char* argv[] = {name, arg.data()};
    EXPECT_FALSE(parse_driver_flags(shared_state(), 2, argv, options, &exit_code)) << text;
    EXPECT_EQ(exit_code, 2) << text;
  }
  DriverOptions options;
  int exit_code = -1;
  char both[] = "--iterations=5";
  char seconds[] = "--seconds=1";
  char* argv[] = {name, both, seconds};
  EXPECT_TRUE(parse_driver_flags(shared_state(), 3, argv, options, &exit_code));
  EXPECT_EQ(options.iterations, 5);
}

}  // namespace
}  // namespace luahammer::repro
