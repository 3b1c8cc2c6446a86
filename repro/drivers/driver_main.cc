#include "driver_main.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace luahammer::repro {

namespace {

void usage(const Driver& driver) {
  std::printf("usage: %s [--flag=value]...\n%s\n\nflags:\n", driver.name, driver.description);
#define DRIVER_FLAG(name, type, default_value, min, max, help) \
  std::printf("  --%-12s %s (default %s; %s to %s)\n", #name, help, #default_value, #min, #max);
#include "driver_flags.def"
#undef DRIVER_FLAG
}

// The whole text must be a number in [min, max]: no wrap-around, no trailing bytes.
template <class T>
bool parse_value(const char* text, T& out, double min, double max) {
  char* end = nullptr;
  errno = 0;
  double value = 0;
  if constexpr (std::is_same_v<T, double>) {
    value = std::strtod(text, &end);
  } else {
    const long long integer = std::strtoll(text, &end, 10);
    value = static_cast<double>(integer);
    if (errno == 0 && end != text && *end == '\0' && value >= min && value <= max) out = static_cast<T>(integer);
  }
  if (errno != 0 || end == text || *end != '\0' || !(value >= min && value <= max)) return false;
  if constexpr (std::is_same_v<T, double>) out = value;
  return true;
}

}  // namespace

bool DriverProgress::keep_going(const DriverOptions& options, std::uint64_t worker_iteration) const {
  if (options.iterations > 0 && worker_iteration >= static_cast<std::uint64_t>(options.iterations)) return false;
  if (options.seconds > 0 &&
      std::chrono::steady_clock::now() - started >= std::chrono::duration<double>(options.seconds)) {
    return false;
  }
  return true;
}

bool parse_driver_flags(const Driver& driver, int argc, char** argv, DriverOptions& options, int* exit_code) {
  bool iterations_given = false;
  bool seconds_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(driver);
      *exit_code = 0;
      return false;
    }
    std::string value;
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "%s: unexpected argument '%s'\n", driver.name, arg.c_str());
      usage(driver);
      *exit_code = 2;
      return false;
    }
    const auto eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    bool known = false;
    bool ok = false;
#define DRIVER_FLAG(flag, type, default_value, min, max, help)                                         \
  if (name == #flag) {                                                                                 \
    known = true;                                                                                      \
    ok = parse_value(value.c_str(), options.flag, static_cast<double>(min), static_cast<double>(max)); \
  }
#include "driver_flags.def"
#undef DRIVER_FLAG
    if (name == "iterations") iterations_given = true;
    if (name == "seconds") seconds_given = true;
    if (!known || !ok) {
      std::fprintf(stderr, known ? "%s: bad value '%s' for --%s\n" : "%s: unknown flag --%s%s\n", driver.name,
                   known ? value.c_str() : name.c_str(), known ? name.c_str() : "");
      usage(driver);
      *exit_code = 2;
      return false;
    }
  }
  // --seconds alone runs for that long, not for the default iteration count.
  if (seconds_given && !iterations_given) options.iterations = 0;
  if (options.iterations == 0 && options.seconds == 0) {
    std::fprintf(stderr, "%s: give --iterations or --seconds a bound\n", driver.name);
    *exit_code = 2;
    return false;
  }
  return true;
}

int run_driver(const Driver& driver, const DriverOptions& options) {
  install_terminate_handler();
  Watchdog watchdog(std::chrono::milliseconds(options.watchdog_ms));
  DriverProgress progress;
  progress.watchdog = &watchdog;
  driver.run(options, progress);
  watchdog.stop();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - progress.started).count();
  std::printf("%s: %llu iterations, %llu ops in %.1f s (%.0f iterations/s), %llu clean errors, 0 findings\n",
              driver.name, static_cast<unsigned long long>(progress.iterations.load()),
              static_cast<unsigned long long>(progress.operations.load()), seconds,
              seconds > 0 ? static_cast<double>(progress.iterations.load()) / seconds : 0.0,
              static_cast<unsigned long long>(progress.clean_errors.load()));
  std::fflush(stdout);
  return 0;
}

int driver_main(const Driver& driver, int argc, char** argv) {
  DriverOptions options;
  int exit_code = 0;
  if (!parse_driver_flags(driver, argc, argv, options, &exit_code)) return exit_code;
  return run_driver(driver, options);
}

}  // namespace luahammer::repro
