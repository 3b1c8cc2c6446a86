// Seed corpus generator for the op-program targets: draws random programs of the
// target's menu (random_program) from a fixed seed and keeps those that add something the
// kept ones do not exercise yet (an op, or a variant its row names: a snippet, a hook
// action), naming each file for what it adds. Then a second pass runs programs with shape
// coverage on and keeps those that reach a cell of the shape table (shapes.def) no kept
// seed reaches ("shape-<op>-<dimension>-<value>"), half of them kept seeds grown by a few
// random ops; then the hand-written chains of ops for the cells at the end of long chains
// (shape_chains) that reach their cells or a new one. Deterministic: seeds are regenerated
// with ci/make-seeds.sh when an op, snippet or table row is added (old seeds keep their meaning).
// usage: make_seeds TARGET OUTDIR [COUNT]   (COUNT: at most that many new seeds)
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <luahammer/opvm/shape_coverage.hpp>

#include "fuzz_target.hpp"

namespace {

// An op's name, and the variant its operands select where its row names one; and
// "run_<snippet>" for a snippet that a later op runs (a call, or an async call, which the
// program's end drives to completion, on the slot it was loaded into): a seed that only
// loads a chunk never runs its code.
std::set<std::string> features_of(const luahammer::OpProgram& program) {
  using luahammer::OpCode;
  std::set<std::string> features;
  std::string loaded[8];  // the snippet last loaded into each value slot
  for (const luahammer::Op& op : program.ops) {
    const luahammer::OpInfo* info = luahammer::op_info(op.code);
    features.insert(info->name);
    if (info->feature != nullptr) {
      std::string variant = info->feature(op);
      if (!variant.empty()) features.insert(std::move(variant));
    }
    const bool runs = op.code == OpCode::CallFunction || op.code == OpCode::StartAsync;
    if (runs && !loaded[op.a % 8].empty()) features.insert("run_" + loaded[op.a % 8]);
    if (op.code == OpCode::LoadSnippet) {
      loaded[op.a % 8] = luahammer::snippet_name(op.n);
    } else {
      // Any other op may write slot a or b: what they hold is unknown from here.
      if (op.code != OpCode::CallFunction && op.code != OpCode::StartAsync) loaded[op.a % 8].clear();
      loaded[op.b % 8].clear();
    }
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
  const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 128;
  constexpr int shape_attempts = 6000;  // programs run for the shape pass
  luahammer::fuzz::TargetSpec spec;
  try {
    spec = luahammer::fuzz::spec_for(target);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 2;
  }
  // The seeds already there stay as they are (their meaning never changes: docs/op-programs.md);
  // new ones are added for what they do not cover yet, numbered after them.
  std::set<std::string> covered;
  std::vector<std::vector<std::uint8_t>> seeds;  // every seed kept, old and new
  long kept = 0;
  if (DIR* dir = opendir(out.c_str())) {
    std::vector<std::string> names;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& existing : names) {
      std::ifstream in(out + "/" + existing, std::ios::binary);
      const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const auto features = features_of(luahammer::OpProgram::decode(bytes.data(), bytes.size(), spec.program));
      covered.insert(features.begin(), features.end());
      seeds.push_back(bytes);
      kept = std::max(kept, std::strtol(existing.c_str(), nullptr, 10));
    }
  }
  const long first_new = kept;
  // Writes a new seed named for (up to three of) the features it adds.
  const auto write_seed = [&](const std::vector<std::uint8_t>& bytes, const std::vector<std::string>& added) {
    std::string name = (kept < 9 ? "0" : "") + std::to_string(kept + 1);
    for (std::size_t i = 0; i < added.size() && i < 3; ++i) name += "-" + added[i];
    const std::string path = out + "/" + name;
    {
      std::ofstream file(path + ".tmp", std::ios::binary);
      file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!file) {
        std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
        return false;
      }
    }
    if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
      std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
      return false;
    }
    seeds.push_back(bytes);
    ++kept;
    return true;
  };
  std::mt19937_64 rng(0x5eed);
  for (int attempt = 0; attempt < 200000 && kept - first_new < count; ++attempt) {
    const std::vector<std::uint8_t> bytes = luahammer::random_program(rng, spec.program, 64 + rng() % 448);
    const luahammer::OpProgram program = luahammer::OpProgram::decode(bytes.data(), bytes.size(), spec.program);
    std::vector<std::string> added;
    for (const std::string& feature : features_of(program)) {
      if (!covered.count(feature)) added.push_back(feature);
    }
    if (added.empty()) continue;
    if (!write_seed(bytes, added)) return 1;
    covered.insert(added.begin(), added.end());
  }
  // Shape cells: what the kept seeds reach when they run, then programs that reach more.
  luahammer::enable_shapes(true);
  for (const auto& bytes : seeds) {
    (void)luahammer::run_program(luahammer::OpProgram::decode(bytes.data(), bytes.size(), spec.program), spec.run);
    luahammer::end_shape_input();
  }
  std::vector<std::string> reached = luahammer::shape_cells_reached();
  std::sort(reached.begin(), reached.end());
  std::mt19937_64 shape_rng(0x5ba9e);
  // The ops of the rows with a cell no seed reaches yet: a grown seed draws them more often.
  const auto ops_of_unfilled_rows = [] {
    std::vector<luahammer::OpCode> ops;
    for (const luahammer::ShapeEntry entry : luahammer::shape_entries()) {
      bool unfilled = false;
      for (unsigned d = 0; d < static_cast<unsigned>(luahammer::ShapeDim::Count) && !unfilled; ++d)
        for (int v = 0; v < 16 && !unfilled; ++v)
          unfilled = luahammer::shape_cell_inputs(entry, static_cast<luahammer::ShapeDim>(d), v) == 0;
      if (!unfilled) continue;
      for (const luahammer::OpCode code : luahammer::shape_ops_of(entry)) ops.push_back(code);
    }
    return ops;
  };
  std::vector<luahammer::OpCode> preferred = ops_of_unfilled_rows();
  for (int attempt = 0; attempt < shape_attempts && kept - first_new < count; ++attempt) {
    // Every other program is a kept seed grown by up to four random ops, half of them ops
    // of a row with a cell not reached yet: a cell at the end of a chain (a coroutine of a
    // snippet, resumed, then closed) is an op or two away from a seed that made its start.
    std::vector<std::uint8_t> bytes;
    if (attempt % 2 == 1 && !seeds.empty()) {
      bytes = seeds[shape_rng() % seeds.size()];
      luahammer::append_random_records(shape_rng, spec.program, bytes, 1 + shape_rng() % 4, bytes.size() + 160,
                                       preferred);
    } else {
      bytes = luahammer::random_program(shape_rng, spec.program, 64 + shape_rng() % 448);
    }
    (void)luahammer::run_program(luahammer::OpProgram::decode(bytes.data(), bytes.size(), spec.program), spec.run);
    luahammer::end_shape_input();
    std::vector<std::string> now = luahammer::shape_cells_reached();
    if (now.size() == reached.size()) continue;
    std::sort(now.begin(), now.end());
    std::vector<std::string> added;
    std::set_difference(now.begin(), now.end(), reached.begin(), reached.end(), std::back_inserter(added));
    for (auto& cell : added) {
      cell = "shape " + cell;
      for (char& ch : cell)
        if (ch == ' ' || ch == '(' || ch == ')' || ch == ':' || ch == ',') ch = '_';
    }
    if (!write_seed(bytes, added)) return 1;
    reached = std::move(now);
    preferred = ops_of_unfilled_rows();
  }
  // The chains of ops for the cells random programs and grown seeds rarely reach: kept
  // where they reach their cells on this target (an op outside the target's menu decodes
  // to nothing), even when a longer seed reached them first: a program of a few ops puts
  // the mutator next to the cell (one op in three or four is the one to vary, not one in
  // forty-eight). Never twice the same bytes.
  for (const luahammer::ShapeChain& chain : luahammer::shape_chains()) {
    if (kept - first_new >= count) break;
    const std::vector<std::uint8_t> bytes = chain.program.encode(spec.program);
    if (std::find(seeds.begin(), seeds.end(), bytes) != seeds.end()) continue;
    std::vector<long> before;
    for (const luahammer::ShapeCell& cell : chain.cells)
      before.push_back(luahammer::shape_cell_inputs(cell.entry, cell.dim, cell.value));
    (void)luahammer::run_program(luahammer::OpProgram::decode(bytes.data(), bytes.size(), spec.program), spec.run);
    luahammer::end_shape_input();
    bool reaches_its_cells = true;
    for (std::size_t i = 0; i < chain.cells.size(); ++i) {
      const luahammer::ShapeCell& cell = chain.cells[i];
      reaches_its_cells =
          reaches_its_cells && luahammer::shape_cell_inputs(cell.entry, cell.dim, cell.value) > before[i];
    }
    std::vector<std::string> now = luahammer::shape_cells_reached();
    if (!reaches_its_cells && now.size() == reached.size()) continue;
    std::sort(now.begin(), now.end());
    if (!write_seed(bytes, {std::string("chain_") + chain.name})) return 1;
    reached = std::move(now);
  }
  std::printf("make_seeds: %s: %ld new seeds (%ld in all) covering %zu features\n", target.c_str(), kept - first_new,
              kept, covered.size());
  return 0;
}
