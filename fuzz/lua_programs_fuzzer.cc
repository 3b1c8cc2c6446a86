// lua_programs: generated Lua programs (bigger ones) run through the host API, plainly and
// as async calls, under hook plans, GC plans and allocation failpoints.
#include "fuzz_target.hpp"

namespace {
luahammer::fuzz::TargetSpec Spec() { return luahammer::fuzz::spec_for("lua_programs"); }
}  // namespace

LUAHAMMER_OP_FUZZ_TARGET(Spec)
