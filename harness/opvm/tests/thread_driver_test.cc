// Claim: the thread driver runs op programs on many threads, each on its own states or
// all on one shared thread-safe state, and the correct core stays clean (TSan under the
// tsan preset; every ledger balanced at the end).
#include <gtest/gtest.h>

#include <cstdio>

#include <luahammer/opvm/thread_driver.hpp>

namespace luahammer {
namespace {

TEST(ThreadDriver, OwnStatesPerWorkerRunClean) {
  ThreadDriverOptions options;
  options.threads = 4;
  options.iterations = 15;
  options.seed = 11;
  const ThreadDriverSummary summary = run_thread_driver(options);
  std::printf("own states: %s\n", summary.line().c_str());
  EXPECT_EQ(summary.programs, 60u);
  EXPECT_GT(summary.ops, 0u);
}

TEST(ThreadDriver, OneSharedThreadSafeStateRunsClean) {
  ThreadDriverOptions options;
  options.threads = 4;
  options.iterations = 15;
  options.seed = 12;
  options.shared_state = true;
  const ThreadDriverSummary summary = run_thread_driver(options);
  std::printf("shared state: %s\n", summary.line().c_str());
  EXPECT_EQ(summary.programs, 60u);
}

}  // namespace
}  // namespace luahammer
