#include "cxxlua/internal/stack_guard.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace cxxlua {
namespace {

void abort_on_imbalance(const char* report) {
  std::fprintf(stderr, "cxxlua: %s\n", report);
  std::fflush(stderr);
  std::abort();
}

std::atomic<StackImbalanceHandler> imbalance_handler{&abort_on_imbalance};

}  // namespace

StackImbalanceHandler set_stack_imbalance_handler(StackImbalanceHandler handler) noexcept {
  return imbalance_handler.exchange(handler != nullptr ? handler : &abort_on_imbalance);
}

void report_stack_imbalance(const char* where, int expected_top, int actual_top) noexcept {
  char report[256];
  const int difference = actual_top - expected_top;
  const int count = difference > 0 ? difference : -difference;
  std::snprintf(report, sizeof report, "stack imbalance in %s: %d value%s %s", where, count, count == 1 ? "" : "s",
                difference > 0 ? "leaked" : "too many popped");
  imbalance_handler.load()(report);
}

}  // namespace cxxlua
