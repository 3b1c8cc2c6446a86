// finalizers: __gc and __close ordering; finalizers that raise, resurrect, create and drop
// objects; take/destroy then collect; throwing constructors; error-and-retry loops with
// fresh coroutines under GC plans (piccolo #45, rlua #19, LuaBridge #209, sol2 #1009).
#include "fuzz_target.hpp"

namespace {
luahammer::fuzz::TargetSpec Spec() { return luahammer::fuzz::spec_for("finalizers"); }
}  // namespace

LUAHAMMER_OP_FUZZ_TARGET(Spec)
