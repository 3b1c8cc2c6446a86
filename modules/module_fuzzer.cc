// The fuzz target of a third-party Lua C module: luahammer_add_module_fuzzer compiles
// this file once per module with LUAHAMMER_MODULE_OPEN (its luaopen_ function) and
// LUAHAMMER_MODULE_NAME (its `require` name). The work is in harness/module_fuzz.cc.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include <luahammer/module/containment.hpp>
#include <luahammer/module/module_fuzz.hpp>
#include <luahammer/core/oracles.hpp>

extern "C" int LUAHAMMER_MODULE_OPEN(lua_State* L);
#ifndef LUAHAMMER_MODULE_EXCLUDE
#define LUAHAMMER_MODULE_EXCLUDE ""
#endif

namespace {
const luahammer::ModuleSpec kModule{LUAHAMMER_MODULE_NAME, LUAHAMMER_MODULE_OPEN};

// The module's EXCLUDE list (luahammer_add_module_fuzzer) joins LUAHAMMER_EXCLUDE, before
// anything reads it.
void exclude_by_default() {
  const std::string defaults = LUAHAMMER_MODULE_EXCLUDE;
  if (defaults.empty()) return;
  const char* user = std::getenv("LUAHAMMER_EXCLUDE");
  const std::string all = user != nullptr && *user != '\0' ? defaults + "," + user : defaults;
  setenv("LUAHAMMER_EXCLUDE", all.c_str(), 1);
}
}  // namespace

// A Lua API check that fails aborts (Lua is built with LUA_USE_APICHECK); with handle_abort
// ASan prints the stack of that abort, the module's call in it, where a plain abort says
// nothing. ASAN_OPTIONS set by the user come after these defaults and win.
extern "C" const char* __asan_default_options() { return "handle_abort=1"; }

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  luahammer::install_terminate_handler();
  exclude_by_default();
  // The module may touch the world: from here on it runs in a scratch folder, unable to
  // write elsewhere, open sockets or start programs (containment.hpp; LUAHAMMER_CONTAIN=0
  // turns it off). Before libFuzzer reads argv, which this rewrites.
  // A parent that only runs children (-fork, -merge) never calls the module.
  if (!luahammer::contain_fuzzing(argc, argv)) return 0;
  // Before libFuzzer starts its threads (the RSS watcher): learning forks a child.
  luahammer::learn_module(kModule);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  luahammer::reset_scratch();
  return luahammer::run_module_input(kModule, data, size);
}

// --explain: the steps as they run (printed as they go, so a crash shows where it was).
std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size) {
  luahammer::ModuleRunOptions options;
  options.trace = true;
  luahammer::run_module_input(kModule, data, size, options);
  return "(end of the steps)\n";
}

#ifdef LUAHAMMER_MODULE_API_MAIN
// module_<name>_api: the discovered API, one name per line, then the object model (per
// class: constructors, methods, properties, metamethods) and the argument shapes learned
// (what each callable's checks accept); with --dict FILE, a libFuzzer
// dictionary: FILE's entries, then each discovered name (and its last component).
int main(int argc, char** argv) {
  exclude_by_default();
  luahammer::contain_fuzzing(&argc, &argv);  // discovery calls the module's functions
  const auto names = luahammer::discover_module_api(kModule);
  if (argc == 3 && std::strcmp(argv[1], "--dict") == 0) {
    if (std::FILE* in = std::fopen(argv[2], "r")) {
      char line[4096];
      while (std::fgets(line, sizeof line, in) != nullptr) std::fputs(line, stdout);
      std::fclose(in);
    } else {
      std::fprintf(stderr, "module_api: cannot read '%s'\n", argv[2]);
      return 2;
    }
    std::printf("# discovered from the module table\n");
    std::set<std::string> words;
    for (const auto& name : names) {
      const auto cut = name.find_last_of(".:");
      words.insert(cut == std::string::npos ? name : name.substr(cut + 1));
    }
    for (const auto& word : words) std::printf("\"%s\"\n", word.c_str());
    return 0;
  }
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s [--dict HAND_WRITTEN.dict]\n", argv[0]);
    return 2;
  }
  for (const auto& name : names) std::printf("%s\n", name.c_str());
  std::printf("%zu function(s)\n", names.size());
  std::printf("# the object model, as calling the module taught it\n");
  for (const auto& line : luahammer::describe_module_model(kModule)) std::printf("%s\n", line.c_str());
  const auto shapes = luahammer::learned_argument_shapes(kModule);
  std::printf("# argument shapes learned from the module's own argument errors\n");
  for (const auto& shape : shapes) std::printf("%s\n", shape.c_str());
  std::printf("%zu shape(s)\n", shapes.size());
  return names.empty() ? 1 : 0;
}
#endif
