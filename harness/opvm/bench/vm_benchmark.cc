// Throughput of the op-program VM: ops/s and programs/s on random programs, the figure
// the fuzz targets' exec/s builds on. Run: build/<preset>/harness/bench/vm_benchmark
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <luahammer/opvm/op_vm.hpp>
#include <luahammer/opvm/vm_host.hpp>
#include <luahammer/core/random_bytes.hpp>

namespace {

std::vector<std::vector<std::uint8_t>> Inputs(std::size_t count, std::size_t size) {
  std::mt19937_64 rng(42);
  std::vector<std::vector<std::uint8_t>> inputs(count);
  for (auto& bytes : inputs) bytes = luahammer::random_bytes(rng, size);
  return inputs;
}

void RandomPrograms(benchmark::State& state) {
  const auto inputs = Inputs(256, static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  std::uint64_t ops = 0;
  for (auto _ : state) {
    const auto& bytes = inputs[i++ % inputs.size()];
    const luahammer::OpProgram program = luahammer::OpProgram::decode(bytes.data(), bytes.size());
    ops += luahammer::run_program(program).ops;
  }
  state.counters["programs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["ops/s"] = benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsRate);
}
BENCHMARK(RandomPrograms)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond);

void DecodeOnly(benchmark::State& state) {
  const auto inputs = Inputs(256, 512);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& bytes = inputs[i++ % inputs.size()];
    benchmark::DoNotOptimize(luahammer::OpProgram::decode(bytes.data(), bytes.size()));
  }
}
BENCHMARK(DecodeOnly)->Unit(benchmark::kMicrosecond);

// What every input pays before its first op and after its last: a fresh sandboxed state
// with the host API and the instruction budget, then the checks and the close.
void FreshState(benchmark::State& state) {
  for (auto _ : state) {
    luahammer::VmState vm = luahammer::make_vm_state(false, 16u << 20, 1u << 20);
    luahammer::check_and_close(vm, "vm_benchmark");
  }
}
BENCHMARK(FreshState)->Unit(benchmark::kMicrosecond);

// FreshState in parts, each with the parts before it: the binding's state with the safe
// libraries, then the sandbox, then the host API and budget (make_vm_state), each closed
// plainly; FreshState minus the last is the checks at the end.
void StateWithLibraries(benchmark::State& state) {
  for (auto _ : state) cxxlua::State(luahammer::sandbox_options()).close();
}
BENCHMARK(StateWithLibraries)->Unit(benchmark::kMicrosecond);

void StateWithSandbox(benchmark::State& state) {
  for (auto _ : state) {
    cxxlua::State s(luahammer::sandbox_options());
    luahammer::apply_sandbox(s);
    s.close();
  }
}
BENCHMARK(StateWithSandbox)->Unit(benchmark::kMicrosecond);

void FreshStateBuilt(benchmark::State& state) {
  for (auto _ : state) luahammer::make_vm_state(false, 16u << 20, 1u << 20).state->close();
}
BENCHMARK(FreshStateBuilt)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
