// Seed corpus generator for the op-program targets: draws random inputs from a fixed
// seed and keeps those that add something the kept ones do not exercise yet (an op, a
// snippet, a hook action), naming each file for what it adds. Deterministic, so seeds can
// be regenerated whenever the input format changes (ci/make-seeds.sh).
// usage: make_seeds TARGET OUTDIR [COUNT]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.hpp"
#include "harness/random_bytes.hpp"

namespace {

std::set<std::string> features_of(const luahammer::OpProgram& program) {
  std::set<std::string> features;
  for (const luahammer::Op& op : program.ops) {
    std::string name = luahammer::op_name(op.code);
    features.insert(name);
    if (op.code == luahammer::OpCode::LoadSnippet) features.insert(luahammer::snippet_name(op.n));
    if (op.code == luahammer::OpCode::SetHookPlan || op.code == luahammer::OpCode::ThreadHook) {
      static const char* const actions[] = {"hook_raise",   "hook_yield",  "hook_collect",
                                            "hook_replace", "hook_remove", "hook_throw"};
      features.insert(actions[static_cast<int>(op.hook.action)]);
    }
    if (op.code == luahammer::OpCode::SetMemoryLimit) features.insert(op.n & 1 ? "binding_limit" : "allocator_limit");
    if (op.code == luahammer::OpCode::RegisterTypes && (op.n & 1)) features.insert("register_twice");
    if (op.code == luahammer::OpCode::BorrowUserdata && op.n % 4 == 3) features.insert("close_under_borrow");
    if (op.code == luahammer::OpCode::CreateUserdata) features.insert(op.b & 1 ? "fragile" : "probe");
    if (op.code == luahammer::OpCode::CreateState && (op.b & 2)) features.insert("tight_state");
    if (op.code == luahammer::OpCode::InspectTable) features.insert("inspect_table_" + std::to_string(op.n % 9));
  }
  return features;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make_seeds TARGET OUTDIR [COUNT]\n");
    return 2;
  }
  const std::string target = argv[1];
  const std::string out = argv[2];
  const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 48;
  luahammer::fuzz::TargetSpec spec;
  try {
    spec = luahammer::fuzz::spec_for(target);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 2;
  }
  std::mt19937_64 rng(0x5eed);
  std::set<std::string> covered;
  long kept = 0;
  for (int attempt = 0; attempt < 200000 && kept < count; ++attempt) {
    const std::vector<std::uint8_t> bytes = luahammer::random_bytes(rng, 64 + rng() % 448);
    const luahammer::OpProgram program = luahammer::OpProgram::decode(bytes.data(), bytes.size(), spec.program);
    std::vector<std::string> added;
    for (const std::string& feature : features_of(program)) {
      if (!covered.count(feature)) added.push_back(feature);
    }
    if (added.empty()) continue;
    std::string name = (kept < 9 ? "0" : "") + std::to_string(kept + 1);
    for (std::size_t i = 0; i < added.size() && i < 3; ++i) name += "-" + added[i];
    const std::string path = out + "/" + name;
    {
      std::ofstream file(path + ".tmp", std::ios::binary);
      file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!file) {
        std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
        return 1;
      }
    }
    if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
      std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
      return 1;
    }
    covered.insert(added.begin(), added.end());
    ++kept;
  }
  std::printf("make_seeds: %s: %ld seeds covering %zu features\n", target.c_str(), kept, covered.size());
  return 0;
}
