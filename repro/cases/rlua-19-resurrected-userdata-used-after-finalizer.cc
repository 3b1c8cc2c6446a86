// rlua #19 (canary resurrected_userdata). Originally: a finalized userdata was stored by
// another finalizer and used again. C++ analog: __gc destroys the object without marking
// the userdata destructed. A table's __gc saves an already-finalized userdata; calling its
// method must raise "userdata has been destructed"; with the canary the object is used
// after destruction (finalizer ledger).
#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(Rlua19, ResurrectedUserdataUsedAfterFinalizer) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  cxxlua::MultiValue r = state.exec(R"(
    do
      local holder = setmetatable({}, {__gc = function(self) saved = self.ud end})
      holder.ud = host.make(5)
    end
    collectgarbage() collectgarbage()
    local ok, err = pcall(function() return saved:get() end)
    saved = nil
    return ok, tostring(err)
  )");
  EXPECT_FALSE(cxxlua::from_value<bool>(r[0]));
  EXPECT_NE(cxxlua::from_value<std::string>(r[1]).find("userdata has been destructed"), std::string::npos);
  r.clear();
  checked.finish("a resurrected userdata");
}

}  // namespace
}  // namespace luahammer::cases
