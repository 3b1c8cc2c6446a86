// Ops on userdata of the tracked types: create, store into, borrow, take, destroy, inspect.
#include <string>

#include <luahammer/opvm/shape_coverage.hpp>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::AnyUserData;
using cxxlua::Function;

using cxxlua::Value;

namespace {

// Creates a T in `vm`'s state and marks whether the creation found its type registered,
// registered it, or failed before it was (shape table, dimension Registrations), whether
// it returned or threw. The looks at the registry happen only while shapes are on.
template <class T>
void create_tracked(Runtime& rt, const Op& op, VmState& vm) {
  const cxxlua::StateHandle& state = *vm.state;
  const bool look = shapes_enabled() && !state.is_closed();
  const bool before = look && state.is_registered<T>();
  const auto mark = [&] {
    if (!look || state.is_closed()) return;
    try {
      note_shape(op, ShapeDim::Registration,
                 before                     ? kRegistrationDone
                 : state.is_registered<T>() ? kRegistrationByCall
                                            : kRegistrationFailed);
    } catch (...) {  // the state refused the look (closing): nothing to mark
    }
  };
  try {
    rt.slots[op.a] = state.create_userdata<T>(&vm.host->finalizers, lua_Integer{op.n});
  } catch (...) {
    mark();
    throw;
  }
  mark();
}

}  // namespace

void create_userdata(Runtime& rt, const Op& op) {
  if (VmState* vm = rt.state_at(op.state)) {
    if (op.b & 1) {
      create_tracked<Fragile>(rt, op, *vm);
    } else {
      create_tracked<Probe>(rt, op, *vm);
    }
  }
}

void store_in_userdata(Runtime& rt, const Op& op) {
  if (const AnyUserData* u = rt.slot_as<AnyUserData>(op.a)) {
    if (const Function* f = rt.slot_as<Function>(op.b)) {
      auto probe = u->borrow_mut<Probe>();
      probe->use();
      probe->stored = *f;
    }
  }
}

void borrow_userdata(Runtime& rt, const Op& op) {
  if (const AnyUserData* u = rt.slot_as<AnyUserData>(op.a)) {
    if (op.n % 4 == 3) {
      // Closing the state under a live borrow must be refused, the object intact.
      auto probe = u->borrow<Probe>();
      probe->use();
      for (VmState& vm : rt.states) {
        if (vm.state && vm.owned && !vm.state->is_closed() && cxxlua::testing::same_state(*u, *vm.state)) {
          rt.close_and_check(vm, "close_state under a borrow");
        }
      }
      probe->use();
    } else if (op.n & 1) {
      auto probe = u->borrow_mut<Probe>();
      probe->use();
      probe->value += 1;
    } else {
      auto probe = u->borrow<Probe>();
      probe->use();
    }
  }
}

void take_userdata(Runtime& rt, const Op& op) {
  if (const AnyUserData* u = rt.slot_as<AnyUserData>(op.a)) {
    Probe taken = u->take<Probe>();
    taken.use();
  }
}

void destroy_userdata(Runtime& rt, const Op& op) {
  if (const AnyUserData* u = rt.slot_as<AnyUserData>(op.a)) u->destroy();
}

void inspect_userdata(Runtime& rt, const Op& op) {
  if (const AnyUserData* u = rt.slot_as<AnyUserData>(op.a)) {
    rt.slots[op.b] = Value((op.n & 1) ? u->is<Probe>() : u->is_destructed());
  }
}

std::string feature_create_userdata(const Op& op) { return (op.b & 1) ? "fragile" : "probe"; }

std::string feature_borrow_userdata(const Op& op) { return op.n % 4 == 3 ? "close_under_borrow" : ""; }

}  // namespace luahammer::ops
