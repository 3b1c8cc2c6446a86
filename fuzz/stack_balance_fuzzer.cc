// stack_balance: op programs over the whole API with allocation failpoints; the stack
// oracle runs after every op (sol2 #12/#717/#395, sol2 #696).
#include "fuzz_target.hpp"

namespace {
luahammer::fuzz::TargetSpec Spec() { return luahammer::fuzz::spec_for("stack_balance"); }
}  // namespace

LUAHAMMER_OP_FUZZ_TARGET(Spec)
