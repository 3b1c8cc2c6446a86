#include <luahammer/core/oracles.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace luahammer {

namespace {
std::atomic<ViolationHandler> handler{nullptr};
}

void report_violation(const char* oracle, const std::string& what, const std::string& details) {
  std::fprintf(stderr, "luahammer: %s: %s\n", oracle, what.c_str());
  if (!details.empty()) std::fprintf(stderr, "%s\n", details.c_str());
  std::fflush(stderr);
  std::abort();
}

ViolationHandler set_violation_handler(ViolationHandler h) { return handler.exchange(h); }

void violation(const char* oracle, const std::string& what, const std::string& details) {
  if (ViolationHandler h = handler.load()) {
    h(oracle, what);
    return;
  }
  report_violation(oracle, what, details);
}

void SlotLedger::take(int slot) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    bool fresh = false;
    if (slot >= 0) {
      const auto index = static_cast<std::size_t>(slot);
      if (index >= live_slots_.size()) live_slots_.resize(std::max<std::size_t>(index + 1, 2 * live_slots_.size()), 0);
      fresh = live_slots_[index] == 0;
      live_slots_[index] = 1;
    } else {
      fresh = live_negative_.insert(slot).second;
    }
    if (fresh) {
      ++live_count_;
    } else {
      violation(oracle_, "registry slot " + std::to_string(slot) + " taken twice");
    }
  } catch (...) {
  }
}

void SlotLedger::release(int slot) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    bool was_live = false;
    if (slot >= 0) {
      const auto index = static_cast<std::size_t>(slot);
      was_live = index < live_slots_.size() && live_slots_[index] != 0;
      if (was_live) live_slots_[index] = 0;
    } else {
      was_live = live_negative_.erase(slot) != 0;
    }
    if (was_live) {
      --live_count_;
    } else {
      violation(oracle_, "registry slot " + std::to_string(slot) + " released twice or never taken");
    }
  } catch (...) {
  }
}

std::size_t SlotLedger::live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_count_;
}

void SlotLedger::check_none_live(const char* after) const {
  const std::size_t n = live();
  if (n != 0) violation(oracle_, std::to_string(n) + " registry slot(s) still live after " + after);
}

std::uint64_t FinalizerLedger::constructed(const char* type) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t id = next_id_++;
  objects_[id] = {type, Life::Live};
  return id;
}

void FinalizerLedger::destroyed(std::uint64_t id) {
  std::string what;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = objects_.find(id);
    if (it == objects_.end()) {
      what = "object #" + std::to_string(id) + " destroyed but never constructed";
    } else if (it->second.second == Life::Destroyed) {
      what = std::string(it->second.first) + " #" + std::to_string(id) + " destroyed twice";
    } else {
      it->second.second = Life::Destroyed;
      return;
    }
  }
  violation("finalizers", what);
}

void FinalizerLedger::used(std::uint64_t id) {
  std::string what;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = objects_.find(id);
    if (it != objects_.end() && it->second.second == Life::Live) return;
    what = "object #" + std::to_string(id) + " used after destruction (or never constructed)";
  }
  violation("finalizers", what);
}

std::size_t FinalizerLedger::live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, entry] : objects_) n += entry.second == Life::Live ? 1 : 0;
  return n;
}

void FinalizerLedger::check_all_destroyed(const char* after) const {
  std::string what;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, entry] : objects_) {
      if (entry.second == Life::Live) {
        what =
            std::string(entry.first) + " #" + std::to_string(id) + " never destroyed (finalizer missed) after " + after;
        break;
      }
    }
  }
  if (!what.empty()) violation("finalizers", what);
}

void check_memory_returned(const FaultAllocator& allocator, const char* after) {
  if (allocator.live_bytes() != 0 || allocator.live_blocks() != 0) {
    violation("memory", std::to_string(allocator.live_bytes()) + " byte(s) in " +
                            std::to_string(allocator.live_blocks()) + " block(s) not returned after " + after);
  }
}

void check_op_budget(std::uint64_t ops_run, std::uint64_t budget) {
  if (ops_run > budget) {
    violation("liveness",
              "op program ran " + std::to_string(ops_run) + " ops, over its budget of " + std::to_string(budget));
  }
}

Watchdog::Watchdog(std::chrono::milliseconds bound) : bound_(bound), thread_([this] { watch(); }) {}

Watchdog::~Watchdog() {
  stop();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& worker : workers_) delete worker.second;
}

int Watchdog::add_worker(std::string name) {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_.emplace_back(std::move(name), new std::atomic<const char*>("started"));
  return static_cast<int>(workers_.size()) - 1;
}

void Watchdog::progress(int worker, const char* activity) noexcept {
  ticks_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  if (worker >= 0 && static_cast<std::size_t>(worker) < workers_.size())
    workers_[static_cast<std::size_t>(worker)].second->store(activity);
}

void Watchdog::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Watchdog::watch() {
  std::uint64_t last = ticks_.load();
  auto last_change = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::uint64_t now_ticks = ticks_.load();
    const auto now = std::chrono::steady_clock::now();
    if (now_ticks != last) {
      last = now_ticks;
      last_change = now;
      continue;
    }
    if (now - last_change < bound_) continue;
    std::string details = "workers:";
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [name, activity] : workers_) details += "\n  " + name + ": " + activity->load();
    }
    report_violation("watchdog", "no progress for " + std::to_string(bound_.count()) + " ms (deadlock or stall)",
                     details);
  }
}

void install_terminate_handler() {
  std::set_terminate([] {
    std::string what = "std::terminate called";
    if (std::exception_ptr current = std::current_exception()) {
      try {
        std::rethrow_exception(current);
      } catch (const std::exception& e) {
        what += ": uncaught exception: " + std::string(e.what());
      } catch (...) {
        what += ": uncaught exception of unknown type";
      }
    }
    report_violation("unwinding", what + " (an exception escaped a callback, a destructor or a noexcept frame)");
  });
}

}  // namespace luahammer
