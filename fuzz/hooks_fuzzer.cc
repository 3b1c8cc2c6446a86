// hooks: a hook plan from the first bytes (raise / yield / collect / replace / remove at
// event N of calls, returns, lines or counts), then ops concentrated on the binding's
// internal protected paths: type registration, table stores, conversions (mlua #477).
#include "fuzz_target.hpp"

namespace {
luahammer::fuzz::TargetSpec Spec() { return luahammer::fuzz::spec_for("hooks"); }
}  // namespace

LUAHAMMER_OP_FUZZ_TARGET(Spec)
