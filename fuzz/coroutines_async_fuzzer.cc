// coroutines_async: coroutines, hook yields, async functions under plain
// coroutine.resume / coroutine.wrap, dropping unfinished calls (mlua #499, #723, #416).
#include "fuzz_target.hpp"

namespace {
luahammer::fuzz::TargetSpec Spec() { return luahammer::fuzz::spec_for("coroutines_async"); }
}  // namespace

LUAHAMMER_OP_FUZZ_TARGET(Spec)
