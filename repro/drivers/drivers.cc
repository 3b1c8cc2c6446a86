#include "drivers.hpp"

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <luahammer/core/oracles.hpp>
#include <luahammer/opvm/thread_driver.hpp>
#include <luahammer/opvm/vm_host.hpp>

namespace luahammer::repro {

using cxxlua::Error;
using cxxlua::Function;
using cxxlua::HookAction;
using cxxlua::HookTriggers;
using cxxlua::MultiValue;
using cxxlua::StateHandle;
using cxxlua::Table;

namespace {

constexpr std::size_t kMemoryCap = 32 * 1024 * 1024;
constexpr std::uint64_t kInstructionBudget = 2000000;

// Runs `work(worker, rng, progress)` on every worker thread after a common start.
void run_workers(const DriverOptions& options, DriverProgress& progress,
                 const std::function<void(int, std::mt19937_64&, int watchdog_id)>& work) {
  std::vector<std::thread> threads;
  std::vector<int> ids;
  for (int w = 0; w < options.threads; ++w) ids.push_back(progress.watchdog->add_worker("worker " + std::to_string(w)));
  for (int w = 0; w < options.threads; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(options.seed) * 7919u + static_cast<std::uint64_t>(w));
      work(w, rng, ids[static_cast<std::size_t>(w)]);
      progress.watchdog->progress(ids[static_cast<std::size_t>(w)], "done");
    });
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace

Driver parallel_hooked_states() {
  return {"parallel_hooked_states",
          "mlua #477: fresh states on every thread register a userdata type and store userdata into tables, under\n"
          "a call + return + every-2000-instructions hook that raises once a shared cancellation flag is set;\n"
          "another thread flips the flag at random moments.",
          [](const DriverOptions& options, DriverProgress& progress) {
            std::atomic<bool> cancel{false};
            std::atomic<bool> finished{false};
            std::thread flipper([&] {
              std::mt19937_64 rng(static_cast<std::uint64_t>(options.seed));
              while (!finished.load()) {
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
                cancel.store(!cancel.load());
              }
            });
            run_workers(options, progress, [&](int, std::mt19937_64& rng, int id) {
              for (std::uint64_t i = 0; progress.keep_going(options, i); ++i) {
                progress.watchdog->progress(id, "fresh state");
                VmState vm = make_vm_state(false, kMemoryCap, kInstructionBudget);
                vm.state->set_hook(HookTriggers{.on_calls = true, .on_returns = true, .every_nth_instruction = 2000},
                                   [&](StateHandle&, const cxxlua::HookEvent&) {
                                     return cancel.load() ? HookAction::error("cancelled") : HookAction::resume();
                                   });
                try {
                  register_vm_types(*vm.state);  // the first use of the types, under the hook
                  Table table = vm.state->create_table();
                  Function store = vm.state->load("local t, u = ... t[#t + 1] = u for i = 1, 50 do end return #t");
                  for (int k = 0; k < 4; ++k) {
                    cxxlua::AnyUserData u = vm.state->create_userdata<Probe>(&vm.host->finalizers, lua_Integer{k});
                    table.set(k, u);
                    (void)store.call(table, u);
                    progress.operations.fetch_add(3);
                  }
                  if (rng() % 2) vm.state->exec("local t = {} for i = 1, 20 do t[i] = host.make(i) end");
                } catch (const Error&) {
                  progress.clean_errors.fetch_add(1);
                }
                check_and_close(vm, "a hooked state's iteration");
                progress.iterations.fetch_add(1);
              }
            });
            finished.store(true);
            flipper.join();
          }};
}

Driver shared_state() {
  return {"shared_state",
          "mlua #431: one thread-safe state shared by all threads: calls, handle copies and drops, userdata\n"
          "borrows, GC and hooks through op programs; then handles dropped from threads that never entered.",
          [](const DriverOptions& options, DriverProgress& progress) {
            ThreadDriverOptions threads;
            threads.threads = options.threads;
            threads.iterations = static_cast<std::uint64_t>(options.iterations);
            threads.seconds = options.seconds;
            threads.seed = static_cast<std::uint64_t>(options.seed);
            threads.shared_state = true;
            threads.watchdog = std::chrono::milliseconds(options.watchdog_ms);
            threads.external_watchdog = progress.watchdog;  // the driver's watchdog hears every worker
            const ThreadDriverSummary summary = run_thread_driver(threads);
            progress.iterations.fetch_add(summary.programs);
            progress.operations.fetch_add(summary.ops);
            progress.clean_errors.fetch_add(summary.clean_errors);
            // Drops from threads that never entered the state: deferred, never blocking.
            VmState vm = make_vm_state(true, kMemoryCap, kInstructionBudget);
            std::vector<Function> handles;
            for (int i = 0; i < 64 * options.threads; ++i) handles.push_back(vm.state->load("return 1"));
            std::vector<std::thread> droppers;
            for (int w = 0; w < options.threads; ++w) {
              droppers.emplace_back([&, w] {
                for (std::size_t i = static_cast<std::size_t>(w); i < handles.size();
                     i += static_cast<std::size_t>(options.threads)) {
                  handles[i] = Function();
                }
              });
            }
            for (auto& thread : droppers) thread.join();
            check_and_close(vm, "drops from foreign threads");
          }};
}

Driver stored_function_lifetime() {
  return {"stored_function_lifetime",
          "mlua #423, sol2 #1431: functions taken from Lua kept in host structs and in userdata; one thread\n"
          "closes the state while the others still hold copies, call them and drop them, during and after close.",
          [](const DriverOptions& options, DriverProgress& progress) {
            for (std::uint64_t round = 0; progress.keep_going(options, round); ++round) {
              VmState vm = make_vm_state(true, kMemoryCap, kInstructionBudget);
              struct Shelf {
                std::mutex mutex;
                std::vector<Function> functions;
              } shelf;
              {
                Function f = vm.state->load("local n = ... return (n or 0) + 1");
                for (int i = 0; i < 8; ++i) shelf.functions.push_back(f);
                cxxlua::AnyUserData holder = vm.state->create_userdata<Probe>(&vm.host->finalizers, lua_Integer{1});
                holder.borrow_mut<Probe>()->stored = f;
                vm.state->globals().set("holder", holder);  // Lua owns it: dropped at close
              }
              std::atomic<bool> closed{false};
              const auto close_after = std::chrono::microseconds(static_cast<long>(round % 7) * 150);
              run_workers(options, progress, [&](int w, std::mt19937_64& rng, int id) {
                if (w == 0) {
                  std::this_thread::sleep_for(close_after);
                  progress.watchdog->progress(id, "closing the state");
                  vm.state->close();  // other threads still hold copies
                  closed.store(true);
                  return;
                }
                for (int i = 0; i < 200 || !closed.load(); ++i) {
                  progress.watchdog->progress(id, "calling a stored copy");
                  Function copy;
                  {
                    std::lock_guard<std::mutex> lock(shelf.mutex);
                    copy = shelf.functions[rng() % shelf.functions.size()];
                  }
                  try {
                    (void)copy.call(lua_Integer{i});
                  } catch (const Error& e) {
                    if (e.kind() != cxxlua::ErrorKind::StateClosed) throw;
                    progress.clean_errors.fetch_add(1);
                  }
                  progress.operations.fetch_add(1);
                  if (i > 10000) break;
                }
              });
              {
                std::lock_guard<std::mutex> lock(shelf.mutex);
                shelf.functions.clear();  // drops after close do nothing
              }
              check_after_close(vm, "close with copies held elsewhere");
              progress.iterations.fetch_add(1);
            }
          }};
}

Driver retry_finalization() {
  return {"retry_finalization",
          "piccolo #45: an erroring script retried with a fresh coroutine each time, finalizers that create and\n"
          "drop objects, GC steps of random size; several states in parallel, one per thread.",
          [](const DriverOptions& options, DriverProgress& progress) {
            run_workers(options, progress, [&](int, std::mt19937_64& rng, int id) {
              for (std::uint64_t i = 0; progress.keep_going(options, i); ++i) {
                VmState vm = make_vm_state(false, kMemoryCap, kInstructionBudget);
                {
                  Function script = vm.state->load(R"(
                  setmetatable({}, {__gc = function()
                    local made = host.make(1)
                    local co = coroutine.create(function() end)
                    coroutine.resume(co)
                  end})
                  local kept = host.make(2)
                  local co = coroutine.create(function()
                    local guard <close> = host.make(3)
                    error("retry me")
                  end)
                  coroutine.resume(co)
                  return nil  -- the host's conversion of this nil fails, as in the original report
                )",
                                                   "=script");
                  for (int attempt = 0; attempt < 20; ++attempt) {
                    progress.watchdog->progress(id, "retrying the script");
                    try {
                      cxxlua::Thread fresh = vm.state->create_thread(script);
                      MultiValue results = fresh.resume();
                      (void)cxxlua::from_value<lua_Integer>(results.empty() ? cxxlua::Value() : results[0]);
                    } catch (const Error&) {
                      progress.clean_errors.fetch_add(1);
                    }
                    (void)vm.state->gc_step(static_cast<int>(rng() % 64));
                    progress.operations.fetch_add(1);
                  }
                }
                check_and_close(vm, "the retry loop");
                progress.iterations.fetch_add(1);
              }
            });
          }};
}

Driver async_pending() {
  return {"async_pending",
          "mlua #499: coroutines resumed by plain coroutine.resume (and nested coroutine.wrap) call async\n"
          "functions whose futures a worker pool completes at random times; some calls are dropped unfinished.",
          [](const DriverOptions& options, DriverProgress& progress) {
            cxxlua::WorkerPool pool(2);
            run_workers(options, progress, [&](int, std::mt19937_64& rng, int id) {
              for (std::uint64_t i = 0; progress.keep_going(options, i); ++i) {
                VmState vm = make_vm_state(false, kMemoryCap, kInstructionBudget);
                const auto seed = rng();
                vm.state->globals().set(
                    "slow", vm.state->create_async_function([&pool, seed](lua_Integer x) -> cxxlua::AsyncPoll {
                      auto completion = std::make_shared<cxxlua::Completion<lua_Integer>>();
                      pool.submit([completion, x, seed] {
                        std::this_thread::sleep_for(
                            std::chrono::microseconds((seed ^ static_cast<std::uint64_t>(x)) % 300));
                        completion->complete(x + 1);
                      });
                      return [completion](StateHandle&, const cxxlua::Waker& waker) -> std::optional<MultiValue> {
                        if (auto v = completion->poll(waker)) return MultiValue{cxxlua::Value(*v)};
                        return std::nullopt;
                      };
                    }));
                {
                  Function body = vm.state->load(R"(
                  local total = 0
                  for i = 1, 4 do
                    local co = coroutine.create(function(x) return slow(x) end)
                    local ok, v = coroutine.resume(co, i)
                    host.echo(ok, v)
                    total = total + v
                    local w = coroutine.wrap(function() return coroutine.wrap(function() return slow(i) end)() end)
                    total = total + w()
                  end
                  return total
                )",
                                                 "=body");
                  cxxlua::Executor executor(std::chrono::milliseconds(options.watchdog_ms / 2));
                  progress.watchdog->progress(id, "driving an async call");
                  try {
                    cxxlua::AsyncCall call = vm.state->async_call(body);
                    if (rng() % 4 == 0) {
                      (void)call.poll();  // cancelled: dropped unfinished
                    } else {
                      const lua_Integer total = cxxlua::from_value<lua_Integer>(executor.block_on(call)[0]);
                      if (total != 28) violation("liveness", "async results lost: total " + std::to_string(total));
                    }
                  } catch (const Error& e) {
                    if (std::string(e.what()).find("stalled") != std::string::npos) {
                      violation("liveness", std::string("a woken async call was not polled in time: ") + e.what());
                    }
                    progress.clean_errors.fetch_add(1);
                  }
                  progress.operations.fetch_add(8);
                }
                check_and_close(vm, "the async calls");
                progress.iterations.fetch_add(1);
              }
            });
          }};
}

}  // namespace luahammer::repro
