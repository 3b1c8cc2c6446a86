// Drivers for async calls: AsyncCall runs one function in a coroutine, resuming it each
// time its waker fires; Executor blocks on calls with a liveness bound (a call that stays
// pending with no wake within the bound is reported as stalled, never waited on forever).
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "cxxlua/async.hpp"
#include "cxxlua/state.hpp"
#include "cxxlua/value.hpp"

namespace cxxlua {

class AsyncCall {
 public:
  AsyncCall(StateHandle state, Thread thread, MultiValue args);
  AsyncCall(AsyncCall&&) noexcept = default;
  AsyncCall& operator=(AsyncCall&&) noexcept = default;
  AsyncCall(const AsyncCall&) = delete;
  AsyncCall& operator=(const AsyncCall&) = delete;
  // Dropping an unfinished call closes its coroutine: its future and everything it holds
  // are released.
  ~AsyncCall();

  // Resumes the coroutine if it is new or was woken; returns its results once it finished.
  // A Lua error in the call is thrown.
  std::optional<MultiValue> poll();
  bool finished() const noexcept { return finished_; }
  bool woken() const noexcept { return wake_->woken.load(); }
  unsigned long long resumes() const noexcept { return resumes_; }
  void attach(std::shared_ptr<WakeSignal> signal) { wake_->attach(std::move(signal)); }
  const Thread& thread() const noexcept { return thread_; }

 private:
  std::unique_ptr<StateHandle> state_;
  Thread thread_;
  MultiValue args_;
  std::shared_ptr<TaskWake> wake_;
  bool started_ = false;
  bool finished_ = false;
  unsigned long long resumes_ = 0;
};

class Executor {
 public:
  explicit Executor(std::chrono::milliseconds stall_bound = std::chrono::seconds(10))
      : signal_(std::make_shared<WakeSignal>()), stall_bound_(stall_bound) {}
  // Polls `call` until it finishes. Throws Error(Coroutine, "… stalled …") when the call
  // is pending and no wake arrives within the bound (the liveness guarantee).
  MultiValue block_on(AsyncCall& call);
  const std::shared_ptr<WakeSignal>& signal() const noexcept { return signal_; }

 private:
  std::shared_ptr<WakeSignal> signal_;
  std::chrono::milliseconds stall_bound_;
};

}  // namespace cxxlua
