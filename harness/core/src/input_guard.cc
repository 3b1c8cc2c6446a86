#include <luahammer/core/input_guard.hpp>

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace luahammer {

namespace {

std::int64_t cpu_nanoseconds(clockid_t clock) {
  timespec now{};
  if (clock_gettime(clock, &now) != 0) return 0;
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// One watcher thread for the process; an armed guard publishes its thread's CPU clock,
// the CPU time it started at and its limit.
struct Watch {
  std::atomic<bool> armed{false};
  std::atomic<clockid_t> clock{};
  std::atomic<std::int64_t> start{0};
  std::atomic<std::int64_t> limit{0};

  static Watch& instance() {
    static Watch* watch = [] {
      auto* w = new Watch;  // never destroyed: the watcher thread reads it until exit
      std::thread([w] { w->run(); }).detach();
      return w;
    }();
    return *watch;
  }

  [[noreturn]] static void escape(std::int64_t limit_ns) {
    std::fprintf(stderr,
                 "luahammer: budget escape: input ran past %.1f s of CPU time (not a finding: work that no "
                 "deterministic bound of the sandbox reaches; replay it and bound it)\n",
                 static_cast<double>(limit_ns) / 1e9);
    std::fflush(stderr);
    std::abort();
  }

  void run() {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!armed.load()) continue;
      const std::int64_t used = cpu_nanoseconds(clock.load()) - start.load();
      if (armed.load() && used > limit.load()) escape(limit.load());
    }
  }
};

std::chrono::milliseconds default_limit() {
  if (const char* text = std::getenv("LUAHAMMER_INPUT_CPU_SECONDS")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end != text && *end == '\0' && seconds > 0 && seconds <= 3600) {
      return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    }
    std::fprintf(stderr, "luahammer: LUAHAMMER_INPUT_CPU_SECONDS='%s' is not a number of seconds in (0, 3600]\n", text);
    std::exit(2);
  }
  return std::chrono::seconds(10);
}

}  // namespace

InputGuard::InputGuard(std::chrono::milliseconds limit) {
  static const std::chrono::milliseconds fallback = default_limit();
  Watch& watch = Watch::instance();
  clockid_t clock{};
  if (pthread_getcpuclockid(pthread_self(), &clock) != 0) return;
  watch.clock.store(clock);
  watch.start.store(cpu_nanoseconds(clock));
  watch.limit.store(static_cast<std::int64_t>((limit.count() > 0 ? limit : fallback).count()) * 1000000);
  watch.armed.store(true);
}

InputGuard::~InputGuard() { Watch::instance().armed.store(false); }

}  // namespace luahammer
