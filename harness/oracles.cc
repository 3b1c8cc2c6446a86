#include "harness/oracles.hpp"

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

void check_stack_at_rest(const cxxlua::StateHandle& state, const char* after) {
  if (state.is_closed()) return;
  // Under the lock: another thread may be using a shared state.
  const int top = state.inspect([&state](lua_State*) { return lua_gettop(state.raw_state()); });
  if (top != 0) {
    violation("stack", std::to_string(top) + " value(s) left on the main thread after " + after);
  }
}

void check_coroutine(const cxxlua::Thread& thread, const char* after) {
  if (!thread.state_alive()) return;
  lua_State* co = thread.raw_thread();
  // Read under the state's lock: another worker's collection may move this stack.
  const int top = cxxlua::StateHandle(thread.shared_core()).inspect([co](lua_State*) {
    lua_Debug ar;
    if (lua_status(co) != LUA_OK || lua_getstack(co, 0, &ar) != 0) return -1;  // suspended or running
    // At rest a coroutine holds nothing (finished) or exactly its body (not started).
    const int n = lua_gettop(co);
    return (n == 0 || (n == 1 && lua_type(co, 1) == LUA_TFUNCTION)) ? -1 : n;
  });
  if (top < 0) return;
  violation("stack", "finished coroutine holds " + std::to_string(top) + " value(s) after " + after);
}

void ReferenceLedger::on_take(int ref) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    if (!live_.insert(ref).second) violation("references", "registry slot " + std::to_string(ref) + " taken twice");
  } catch (...) {
  }
}

void ReferenceLedger::on_release(int ref) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    if (live_.erase(ref) == 0) {
      violation("references", "registry slot " + std::to_string(ref) + " released twice or never taken");
    }
  } catch (...) {
  }
}

std::size_t ReferenceLedger::live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_.size();
}

void ReferenceLedger::check_none_live(const char* after) const {
  const std::size_t n = live();
  if (n != 0) violation("references", std::to_string(n) + " registry slot(s) still live after " + after);
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

void check_finalizers_called_by_lua(const cxxlua::StateHandle& state, const char* after) {
  const std::size_t skipped = state.finalizers_skipped_by_lua();
  const std::size_t failed = state.finalizer_call_failures();
  if (skipped > failed) {
    violation("finalizers", std::to_string(skipped - failed) +
                                " object(s) freed by Lua without a call of their finalizer (never registered?) after " +
                                after);
  }
}

void check_memory_returned(const FaultAllocator& allocator, const char* after) {
  if (allocator.live_bytes() != 0 || allocator.live_blocks() != 0) {
    violation("memory", std::to_string(allocator.live_bytes()) + " byte(s) in " +
                            std::to_string(allocator.live_blocks()) + " block(s) not returned after " + after);
  }
}

void check_memory_accounting(const cxxlua::StateHandle& state, const FaultAllocator& allocator, const char* after) {
  if (state.is_closed()) return;
  if (state.used_memory() != allocator.live_bytes()) {
    violation("memory", "the binding counts " + std::to_string(state.used_memory()) + " byte(s) of Lua memory, " +
                            "its allocator holds " + std::to_string(allocator.live_bytes()) + " after " + after);
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
