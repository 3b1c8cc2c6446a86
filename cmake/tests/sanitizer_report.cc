// Each preset reports the sanitizers it runs under; a preset whose flags do not match
// its name (e.g. "tsan" built with ASan) fails here.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LUAHAMMER_HAS_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define LUAHAMMER_HAS_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LUAHAMMER_HAS_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define LUAHAMMER_HAS_TSAN 1
#endif

namespace {

// UBSan is live when an instrumented signed overflow kills a child process. (A weak
// symbol probe is not enough: TSan's runtime carries UBSan's handlers too.)
bool UndefinedBehaviorSanitizerIsLive() {
  pid_t child = fork();
  if (child == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    volatile int big = INT_MAX;
    volatile int one = 1;
    volatile int sum = big + one;
    (void)sum;
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

std::set<std::string> SanitizersInThisBinary() {
  std::set<std::string> found;
#if defined(LUAHAMMER_HAS_ASAN)
  found.insert("address");
#endif
#if defined(LUAHAMMER_HAS_TSAN)
  found.insert("thread");
#endif
  if (UndefinedBehaviorSanitizerIsLive()) found.insert("undefined");
  return found;
}

TEST(SanitizerSelfReport, PresetRunsUnderTheSanitizersItsNameSays) {
  const std::map<std::string, std::set<std::string>> expected_by_preset = {
      {"asan", {"address", "undefined"}},
      {"gcc-asan", {"address", "undefined"}},
      {"fuzz", {"address", "undefined"}},
      {"tsan", {"thread"}},
      {"coverage", {}},
      {"canary-fuzz", {"address", "undefined"}},
      {"canary-tsan", {"thread"}},
      {"asan-lua-cxx", {"address", "undefined"}},
      {"asan-lua544", {"address", "undefined"}},
  };
  const std::string preset = LUAHAMMER_PRESET_NAME;
  std::string running;
  for (const auto& name : SanitizersInThisBinary()) running += name + " ";
  std::printf("preset '%s' runs under: %s\n", preset.c_str(), running.empty() ? "(no sanitizer)" : running.c_str());
  if (preset.empty()) GTEST_SKIP() << "not configured from a preset";
  auto it = expected_by_preset.find(preset);
  ASSERT_NE(it, expected_by_preset.end()) << "unknown preset " << preset;
  EXPECT_EQ(SanitizersInThisBinary(), it->second);
}

}  // namespace
