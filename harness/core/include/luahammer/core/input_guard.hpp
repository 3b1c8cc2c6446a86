// The backstop of the instruction budget: a per-input CPU-time guard. Deterministic bounds
// (the budget's count hook, the sandbox's limits on finalizers, patterns and table.move)
// end the inputs they know; an input that still runs past the guard's CPU time is a budget
// escape, not a finding. The guard then ends the process with one line,
//   luahammer: budget escape: input ran past N s of CPU time (not a finding: …)
// well before libFuzzer's timeout, so a campaign loses seconds, not the timeout, and the
// nightly files it apart from the findings. Only the fuzzing thread's CPU time counts.
#pragma once

#include <chrono>

namespace luahammer {

class InputGuard {
 public:
  // Arms the guard for the calling thread until destruction. `limit` zero: the default,
  // LUAHAMMER_INPUT_CPU_SECONDS from the environment or 10 s.
  explicit InputGuard(std::chrono::milliseconds limit = std::chrono::milliseconds(0));
  ~InputGuard();
  InputGuard(const InputGuard&) = delete;
  InputGuard& operator=(const InputGuard&) = delete;
};

}  // namespace luahammer
