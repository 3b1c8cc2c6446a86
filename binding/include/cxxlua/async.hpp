// Async host functions: poll-based futures with a waker, no external runtime. An async
// function returns an AsyncPoll; while it answers "pending" (std::nullopt) the calling
// coroutine is suspended with a private marker that only the binding understands, and
// resumed when its waker is woken. The marker propagates through Lua's coroutine.resume
// and coroutine.wrap (the binding replaces both), so nested coroutines never stall and
// user code never sees it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace cxxlua {

class StateHandle;
class Value;
using MultiValue = std::vector<Value>;

// Shared by an executor and its tasks' wakers; wake() may come from any thread.
struct WakeSignal {
  std::mutex mutex;
  std::condition_variable changed;
  unsigned long long generation = 0;
  void notify() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++generation;
    }
    changed.notify_all();
  }
};

// One task's wake state. The executor driving the task attaches its signal (and a later
// executor may attach another) while a waker may fire on any thread: the signal is read
// and replaced only under the mutex.
class TaskWake {
 public:
  std::atomic<bool> woken{false};
  std::atomic<unsigned long long> wakes{0};

  void attach(std::shared_ptr<WakeSignal> signal) {
    std::lock_guard<std::mutex> lock(mutex_);
    signal_ = std::move(signal);
  }
  std::shared_ptr<WakeSignal> signal() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return signal_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<WakeSignal> signal_;
};

class Waker {
 public:
  Waker() = default;
  explicit Waker(std::shared_ptr<TaskWake> task) : task_(std::move(task)) {}
  bool valid() const noexcept { return task_ != nullptr; }
  void wake() const {
    if (!task_) return;
    task_->woken.store(true);
    task_->wakes.fetch_add(1);
    if (const std::shared_ptr<WakeSignal> signal = task_->signal()) signal->notify();
  }

 private:
  std::shared_ptr<TaskWake> task_;
};

using AsyncPoll = std::function<std::optional<MultiValue>(StateHandle&, const Waker&)>;
using AsyncFactory = std::function<AsyncPoll(StateHandle&, MultiValue&)>;

// A value computed elsewhere (a worker thread) and handed to a Lua-side poll.
template <class T>
class Completion {
 public:
  void complete(T value) {
    Waker waker;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      value_ = std::move(value);
      waker = waker_;
    }
    waker.wake();
  }
  // Ready value, or registers the waker and answers nullopt.
  std::optional<T> poll(const Waker& waker) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (value_) return value_;
    waker_ = waker;
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::optional<T> value_;
  Waker waker_;
};

// A fixed pool of worker threads running jobs in FIFO order; joins on destruction.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void submit(std::function<void()> job);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace cxxlua
