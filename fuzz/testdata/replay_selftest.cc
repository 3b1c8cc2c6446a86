// A target for the replay's own tests: an input starting with "crash" aborts, any other
// input prints its first line, so a test sees which inputs ran and in which process.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.rfind("crash", 0) == 0) std::abort();
  std::printf("ran: %s\n", text.substr(0, text.find('\n')).c_str());
  std::fflush(stdout);
  return 0;
}

std::string luahammer_fuzz_explain(const std::uint8_t*, std::size_t size) {
  return "explained " + std::to_string(size) + " byte(s)\n";
}
