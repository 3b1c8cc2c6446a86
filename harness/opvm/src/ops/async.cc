// Ops on async calls: start, poll, wake, drop, block on.
#include <string>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::Function;
using cxxlua::MultiValue;

void start_async(Runtime& rt, const Op& op) {
  if (const Function* f = rt.slot_as<Function>(op.a)) {
    Function function = *f;
    rt.calls.push_back(std::make_unique<cxxlua::AsyncCall>(Runtime::handle_of(function).async_call(function)));
  }
}

void poll_async(Runtime& rt, const Op& op) {
  rt.acted = !rt.calls.empty();
  if (!rt.calls.empty()) rt.poll_call(op.n % rt.calls.size());
}

void wake_all(Runtime& rt, const Op& /*op*/) {
  rt.acted = true;
  for (VmState& vm : rt.states) {
    if (vm.host) vm.host->wake_all();
  }
}

void drop_async(Runtime& rt, const Op& op) {
  rt.acted = !rt.calls.empty();
  if (!rt.calls.empty()) rt.calls.erase(rt.calls.begin() + static_cast<long>(op.n % rt.calls.size()));
}

void block_on(Runtime& rt, const Op& op) {
  // An executor with a zero stall bound: the call finishes with what is already
  // complete, or is reported stalled; never a wait.
  rt.acted = !rt.calls.empty();
  if (!rt.calls.empty()) {
    ++rt.polls;
    cxxlua::AsyncCall& call = *rt.calls[op.n % rt.calls.size()];
    if (!call.finished()) {
      cxxlua::Executor executor(std::chrono::milliseconds(0));
      MultiValue results = executor.block_on(call);
      if (!results.empty()) rt.slots[op.b] = std::move(results.front());
    }
  }
}

}  // namespace luahammer::ops
