// Helpers shared by the binding's tests: a failing allocator, a live-instance counter
// and a capture for stack-imbalance reports.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include <cxxlua/cxxlua.hpp>
#include <cxxlua/testing.hpp>

namespace cxxlua::testing {

// Fails every allocation request (growth only) from the Nth on, counting from arm():
// failing only the Nth is not enough, Lua's emergency collection retries it once.
struct FailingAllocator {
  long long requests = 0;
  long long fail_at = 0;  // 0 = never
  long long failures = 0;
  void arm(long long n) {
    requests = 0;
    fail_at = n;
    failures = 0;
  }
  void disarm() { fail_at = 0; }
  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
    auto* self = static_cast<FailingAllocator*>(ud);
    if (nsize == 0) {
      std::free(ptr);
      return nullptr;
    }
    const std::size_t old = ptr != nullptr ? osize : 0;
    if (nsize > old && self->fail_at != 0 && ++self->requests >= self->fail_at) {
      ++self->failures;
      return nullptr;
    }
    return std::realloc(ptr, nsize);
  }
  StateOptions options(unsigned libraries = library::Safe) {
    StateOptions o;
    o.libraries = libraries;
    o.allocator = &FailingAllocator::allocate;
    o.allocator_data = this;
    return o;
  }
};

// A C++ type whose constructions and destructions are counted.
struct Tracked {
  static inline int live = 0;
  static inline int constructed = 0;
  static inline int destroyed = 0;
  static void reset() { live = constructed = destroyed = 0; }
  explicit Tracked(int v = 0) : value(v) { ++live, ++constructed; }
  Tracked(const Tracked& other) : value(other.value) { ++live, ++constructed; }
  Tracked(Tracked&& other) noexcept : value(other.value) { ++live, ++constructed; }
  Tracked& operator=(const Tracked&) = default;
  ~Tracked() { --live, ++destroyed; }
  int value;
  std::string payload = std::string(64, 'x');  // heap memory: LSan sees a missed destructor
};

// Records stack-imbalance reports instead of aborting, for the scope's lifetime.
class ImbalanceCapture {
 public:
  ImbalanceCapture() : previous_(set_stack_imbalance_handler(&record)) { reports().clear(); }
  ~ImbalanceCapture() { set_stack_imbalance_handler(previous_); }
  ImbalanceCapture(const ImbalanceCapture&) = delete;
  ImbalanceCapture& operator=(const ImbalanceCapture&) = delete;
  static std::vector<std::string>& reports() {
    static std::vector<std::string> all;
    return all;
  }

 private:
  static void record(const char* report) { reports().emplace_back(report); }
  StackImbalanceHandler previous_;
};

inline int main_top(const StateHandle& state) { return lua_gettop(testing::main_thread(state)); }

}  // namespace cxxlua::testing
