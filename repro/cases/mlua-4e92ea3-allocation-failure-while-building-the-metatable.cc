// mlua 4e92ea3 (also rlua 37165a8; canary finalizer_skipped). Originally: the userdata was
// pushed with the object inside before its __gc metatable existed; an allocation failure
// while building the metatable leaked the object. C++ analog: construct, then build the
// metatable. Allocation failure is swept over every allocation of a first userdata
// creation; every run must leave the finalizer ledger balanced at close.
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Mlua4e92ea3, AllocationFailureWhileBuildingTheMetatable) {
  int failures = 0;
  for (std::uint64_t n = 1; n < 5000; ++n) {
    CheckedState checked;
    checked.vm().allocator->fail_from_nth(n);
    bool created = false;
    try {
      cxxlua::AnyUserData u = checked.state().create_userdata<Probe>(&checked.vm().host->finalizers, lua_Integer{1});
      created = true;
    } catch (const cxxlua::Error& e) {
      EXPECT_EQ(e.kind(), cxxlua::ErrorKind::Memory) << e.what();
      ++failures;
    }
    const bool injected = checked.vm().allocator->failures() > 0;
    checked.finish("an allocation failure during the first userdata creation");
    if (created && !injected) break;
  }
  EXPECT_GT(failures, 5);
}

}  // namespace
}  // namespace luahammer::cases
