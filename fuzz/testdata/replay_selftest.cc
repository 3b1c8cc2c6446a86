// A target for the replay's own tests: an input starting with "crash" aborts, any other
// input prints its first line, so a test sees which inputs ran and in which process; one
// starting with "spin" first burns about 50 ms of CPU (for --slowest).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.rfind("crash", 0) == 0) std::abort();
  if (text.rfind("spin", 0) == 0) {
    // About 50 ms of CPU: the input --slowest must name first.
    const std::clock_t start = std::clock();
    volatile std::uint64_t sink = 0;
    while (std::clock() - start < CLOCKS_PER_SEC / 20) sink = sink + 1;
  }
  std::printf("ran: %s\n", text.substr(0, text.find('\n')).c_str());
  std::fflush(stdout);
  return 0;
}

std::string luahammer_fuzz_explain(const std::uint8_t*, std::size_t size) {
  return "explained " + std::to_string(size) + " byte(s)\n";
}
