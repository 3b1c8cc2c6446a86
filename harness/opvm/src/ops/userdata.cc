// Ops on userdata of the tracked types: create, store into, borrow, take, destroy, inspect.
#include <string>

#include <luahammer/opvm/shape_coverage.hpp>

#include "../runtime.hpp"

namespace luahammer::ops {

using cxxlua::AnyUserData;
using cxxlua::Function;

using cxxlua::Value;

namespace {

// Marks whether the creation found its type registered, registered it, or failed before it
// was (shape table, dimension Registrations), whether the creation returned or threw.
template <class T>
class RegistrationShape {
 public:
  RegistrationShape(const Op& op, const cxxlua::StateHandle& state)
      : op_(op), state_(state), before_(shapes_enabled() && !state.is_closed() ? state.is_registered<T>() : -1) {}
  RegistrationShape(const RegistrationShape&) = delete;
  RegistrationShape& operator=(const RegistrationShape&) = delete;
  ~RegistrationShape() {
    if (before_ < 0 || state_.is_closed()) return;
    try {
      const bool now = state_.is_registered<T>();
      note_shape(op_, ShapeDim::Registration,
                 before_ == 1 ? kRegistrationDone
                 : now        ? kRegistrationByCall
                              : kRegistrationFailed);
    } catch (...) {  // the state refused the look (closing): nothing to mark
    }
  }

 private:
  const Op& op_;
  const cxxlua::StateHandle& state_;
  int before_;  // -1: not looked at
};

template <class T>
void create_tracked(Runtime& rt, const Op& op, VmState& vm) {
  RegistrationShape<T> shape(op, *vm.state);
  rt.slots[op.a] = vm.state->create_userdata<T>(&vm.host->finalizers, lua_Integer{op.n});
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
