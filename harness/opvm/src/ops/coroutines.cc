// Ops on coroutines: create, resume (with collections between), close, reset.
#include <string>

#include <luahammer/opvm/shape_coverage.hpp>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::Function;
using cxxlua::MultiValue;

using cxxlua::Thread;

void create_coroutine(Runtime& rt, const Op& op) {
  if (const Function* f = rt.slot_as<Function>(op.a)) {
    Function function = *f;
    rt.slots[op.b] = Runtime::handle_of(function).create_thread(function);
  }
}

void resume_coroutine(Runtime& rt, const Op& op) {
  if (const Thread* t = rt.slot_as<Thread>(op.a)) {
    Thread thread = *t;
    // Resume up to n % 8 + 1 times, collecting garbage between resumes when n is odd:
    // hook yields, a full collection, and the resume that must find the locals intact.
    for (std::uint32_t i = 0; i <= op.n % 8; ++i) {
      if (thread.status() != cxxlua::ThreadStatus::Resumable) break;
      note_shape(op, ShapeDim::ArgKind, shapes_enabled() ? shape_kind_of(rt.slots[op.b]) : 0);
      if (shapes_enabled() && shape_suspension_of(thread) == kSuspensionHookYielded)
        note_shape(op, ShapeDim::Suspension, kSuspensionFromHook);
      MultiValue results = thread.resume_values(MultiValue{rt.slots[op.b]});
      note_shape(op, ShapeDim::ResultCount, shape_count_bucket(results.size()));
      if (shapes_enabled()) note_shape(op, ShapeDim::Suspension, shape_suspension_of(thread));
      check_coroutine(thread, "resume_coroutine");
      if (!results.empty()) rt.slots[op.b] = std::move(results.front());
      if (op.n & 1) Runtime::handle_of(thread).collect_garbage();
    }
  }
}

void close_coroutine(Runtime& rt, const Op& op) {
  if (const Thread* t = rt.slot_as<Thread>(op.a)) t->close();
}

void reset_coroutine(Runtime& rt, const Op& op) {
  if (const Thread* t = rt.slot_as<Thread>(op.a)) {
    if (const Function* f = rt.slot_as<Function>(op.b)) {
      Thread thread = *t;
      thread.reset(*f);
    }
  }
}

}  // namespace luahammer::ops
