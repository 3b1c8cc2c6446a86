// stored_functions: functions and references kept in host containers, in userdata and in
// tables, created inside coroutines, dropped before, during (__gc) and after close, called
// after close, across several states (mlua #423, sol2 #1431, sol2 #890).
#include "fuzz_target.hpp"

namespace {
luahammer::fuzz::TargetSpec Spec() { return luahammer::fuzz::spec_for("stored_functions"); }
}  // namespace

LUAHAMMER_OP_FUZZ_TARGET(Spec)
