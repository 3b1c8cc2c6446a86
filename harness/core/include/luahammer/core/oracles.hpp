// Oracles: small invariant checks. A violation prints one first line
//   luahammer: <oracle>: <what>
// (so triage can group findings by it), then details, then aborts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <luahammer/core/fault_allocator.hpp>

namespace luahammer {

// Prints the report and aborts. `details` may be empty.
[[noreturn]] void report_violation(const char* oracle, const std::string& what, const std::string& details = {});

// Tests can divert reports (instead of aborting, the handler records and returns to the
// caller of check functions, which then stop). Null restores aborting.
using ViolationHandler = void (*)(const char* oracle, const std::string& what);
ViolationHandler set_violation_handler(ViolationHandler handler);
// Reports through the handler if one is set, otherwise aborts.
void violation(const char* oracle, const std::string& what, const std::string& details = {});

// --- references ----------------------------------------------------------------------
// Registry slots (or any integer handles a binding takes and gives back): each taken once,
// released once, none left at the end. A binding plugs it into its own observer.
class SlotLedger {
 public:
  explicit SlotLedger(const char* oracle = "references") : oracle_(oracle) {}
  void take(int slot) noexcept;
  void release(int slot) noexcept;  // releasing a slot that is not live: violation
  std::size_t live() const;
  void check_none_live(const char* after) const;

 private:
  const char* oracle_;
  mutable std::mutex mutex_;
  // Registry slots are small indices, taken and released in every op: a flag per slot
  // (not a tree node per take). Negative "slots" (LUA_REFNIL, LUA_NOREF) are kept apart.
  std::vector<std::uint8_t> live_slots_;
  std::set<int> live_negative_;
  std::size_t live_count_ = 0;
};

// --- finalizers ----------------------------------------------------------------------
// C++ objects owned by Lua report their life cycle here; each must be constructed once,
// destroyed exactly once, never destroyed unconstructed, never used after destruction.
class FinalizerLedger {
 public:
  std::uint64_t constructed(const char* type);
  void destroyed(std::uint64_t id);
  void used(std::uint64_t id);
  std::size_t live() const;
  void check_all_destroyed(const char* after) const;

 private:
  enum class Life { Live, Destroyed };
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::pair<const char*, Life>> objects_;
};

// --- memory ----------------------------------------------------------------------------
void check_memory_returned(const FaultAllocator& allocator, const char* after);
// --- liveness --------------------------------------------------------------------------
// An op program must finish within its op budget; a woken async task is polled within a
// bound (cxxlua::Executor throws "stalled" past it; the VM turns that into a violation).
void check_op_budget(std::uint64_t ops_run, std::uint64_t budget);

// --- threads -----------------------------------------------------------------------------
// Watchdog: workers call progress(); if none is made for `bound`, it reports a deadlock
// or stall with every worker's last known activity, then aborts.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::milliseconds bound);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  int add_worker(std::string name);
  void progress(int worker, const char* activity) noexcept;
  void stop();

 private:
  void watch();
  std::chrono::milliseconds bound_;
  std::atomic<std::uint64_t> ticks_{0};
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::atomic<const char*>*>> workers_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// --- unwinding ---------------------------------------------------------------------------
// std::terminate (an exception escaping a callback, a noexcept frame, a destructor)
// becomes a clear report instead of a bare abort.
void install_terminate_handler();

}  // namespace luahammer
